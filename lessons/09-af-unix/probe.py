# 有人在 echo.sock 上监听吗？connect_ex 出错时返回错误码，而不是抛出异常。
# Is anyone listening at echo.sock? connect_ex returns an error code instead of raising.
import os
from socket import *
print('echo.sock 还在吗 / still there?',os.path.exists('echo.sock'))
phone=socket(AF_UNIX,SOCK_STREAM)
err=phone.connect_ex('echo.sock')
print('connect_ex ->',err,os.strerror(err))
phone.close()
