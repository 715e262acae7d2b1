# 参考答案 / reference solution — exercise 5 (sockteach solution 5)
from socket import *
data=b''.join(b'%07d\n' % i for i in range(125000))  # 125,000 行，共 1,000,000 字节 / lines, 1,000,000 bytes
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_SNDBUF,4096)  # 很小的发送缓冲区 / a tiny send buffer
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    conn.settimeout(5)  # 客户端太慢就放弃 / give up on a client that is too slow
    try:
        conn.sendall(data)  # 循环调用 send，直到全部发完 / calls send until every byte is out
    except OSError:  # 例如 TimeoutError（超时）或 ConnectionResetError
        pass
    conn.close()
phone.close()
