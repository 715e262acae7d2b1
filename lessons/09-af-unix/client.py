from socket import *
phone=socket(AF_UNIX,SOCK_STREAM)
phone.connect('echo.sock')  # 连接到文件路径，而不是 (IP, 端口) / a path, not (ip, port)
while True:
    msg=input('>>: ').strip()
    if not msg:continue  # 空输入：重新 input，不调用 send / empty: just ask again
    if msg == 'quit':break  # 输入 quit 退出 / type quit to leave
    phone.send(msg.encode('utf-8'))
    print('client====>')
    data=phone.recv(1024)
    print(data)
phone.close()
