from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_SNDBUF,4096)  # 很小的发送缓冲区 / a tiny send buffer
print('client====> SO_SNDBUF:',phone.getsockopt(SOL_SOCKET,SO_SNDBUF))  # 内核会翻倍 / the kernel doubles it
phone.connect(('127.0.0.1',8081))
phone.settimeout(2)  # send() 不会一直等下去（第 8 课）/ send() does not wait for ever (lesson 8)
data=b'x'*1000000
n=phone.send(data)
print('client====> send() 返回 / returned',n,'of',len(data))
phone.close()
