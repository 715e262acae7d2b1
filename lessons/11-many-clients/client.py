from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.connect(('127.0.0.1',8081))
while True:
    msg=input('>>: ').strip()
    if not msg:continue  # 空输入：重新 input，不调用 send / empty: just ask again
    if msg == 'quit':break  # 输入 quit 退出 / type quit to leave
    phone.send(msg.encode('utf-8'))
    print('client====>')
    data=phone.recv(1024)
    print(data)
phone.close()
