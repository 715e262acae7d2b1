from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(IPPROTO_TCP,TCP_NODELAY,1)  # 每次 send 立刻发出 / every send goes out at once
phone.connect(('127.0.0.1',8081))
phone.send('hello'.encode('utf-8'))  # 第一条消息 / message 1
phone.send('world'.encode('utf-8'))  # 第二条消息 / message 2
input('>>: 回车发送一条长消息 / Enter: send one long message ')
phone.send(('x'*2000).encode('utf-8'))  # 一条 2000 字节的消息 / one message of 2000 bytes
input('>>: 回车退出 / Enter: quit ')
phone.close()
