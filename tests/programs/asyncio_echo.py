# An asyncio echo server (upper case), as a learner would write one from the docs.
import asyncio


async def handle(reader, writer):
    data = await reader.read(1024)
    writer.write(data.upper())
    await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(handle, '127.0.0.1', 8081)
    async with server:
        await server.serve_forever()

asyncio.run(main())
