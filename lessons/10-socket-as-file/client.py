from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.connect(('127.0.0.1',8081))
print('本端 / local:',phone.getsockname(),'对端 / peer:',phone.getpeername())
f=phone.makefile('rwb')  # 像文件一样读写这个连接 / read and write the connection like a file
while True:
    msg=input('>>: ').strip()
    if not msg:continue  # 空输入：重新 input / empty: just ask again
    if msg == 'quit':break  # 输入 quit 退出 / type quit to leave
    f.write((msg+'\n').encode('utf-8'))  # 一行以 \n 结尾 / a line ends with \n
    f.flush()
    print(f.readline())
f.close()
phone.close()
