from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.connect(('127.0.0.1',8081))
f=phone.makefile('rb')
phone.sendall(b'one\ntwo\nthr')  # 两行半，一次发出 / two and a half lines in one send
print(f.readline())
print(f.readline())
input('>>: ')  # 按回车，发出这一行剩下的部分 / press Enter to send the rest of the line
phone.sendall(b'ee\n')
print(f.readline())
f.close()
phone.close()
