print("start")
x = (
