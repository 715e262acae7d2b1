import struct
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(IPPROTO_TCP,TCP_NODELAY,1)  # 每次 send 立刻发出 / every send goes out at once
phone.connect(('127.0.0.1',8081))
for msg in ('hello','world'):
    data=msg.encode('utf-8')
    phone.sendall(struct.pack('>I',len(data))+data)  # 长度前缀 + 数据 / length prefix + data
input('>>: 回车发送一条长消息 / Enter: send one long message ')
data=('x'*2000).encode('utf-8')
phone.sendall(struct.pack('>I',len(data))+data)
input('>>: 回车退出 / Enter: quit ')
phone.close()
