from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_SNDBUF,4096)  # 很小的发送缓冲区 / a tiny send buffer
print('client====> SO_SNDBUF:',phone.getsockopt(SOL_SOCKET,SO_SNDBUF))  # 内核会翻倍 / the kernel doubles it
phone.connect(('127.0.0.1',8081))
data=b'x'*1000000
phone.sendall(data)  # 循环调用 send，直到全部发完 / calls send again and again until all is out
print('client====> sendall() 发完了 / sent all',len(data),'bytes')
phone.close()
