/*
 * ipc.c: porter's protocol over a channel, in one place. Every message
 * porter sends has a typed sender here, and every line received is parsed
 * once, by ipc_parse(), into a struct ipc_msg. The wire format is Node's
 * (node-ipc.md): JSON lines, internal messages named by "cmd", and an fd
 * on a NODE_HANDLE message only.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "porter.h"

/* What Node's child.send(msg, handle) writes; "msg" is what a Node
 * script's process.on('message', (m, handle)) sees. */
static const char	msg_socket[] =
    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":\"socket\"}";
static const char	msg_server[] =
    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Server\",\"msg\":\"server\"}";
static const char	msg_ack[] = "{\"cmd\":\"NODE_HANDLE_ACK\"}";
static const char	msg_nack[] = "{\"cmd\":\"NODE_HANDLE_NACK\"}";
static const char	msg_suicide[] = "{\"act\":\"suicide\"}";

/* Master to worker (handoff): a client socket. */
int
ipc_send_socket(struct channel *ch, int fd)
{
	return channel_send(ch, msg_socket, sizeof(msg_socket) - 1, fd);
}

/* Master to worker (shared): a listening socket. */
int
ipc_send_server(struct channel *ch, int fd)
{
	return channel_send(ch, msg_server, sizeof(msg_server) - 1, fd);
}

/* Worker to master: the handle's fd arrived (or not). */
int
ipc_send_ack(struct channel *ch)
{
	return channel_send(ch, msg_ack, sizeof(msg_ack) - 1, -1);
}

int
ipc_send_nack(struct channel *ch)
{
	return channel_send(ch, msg_nack, sizeof(msg_nack) - 1, -1);
}

/* Built-in worker to master: it serves from now on. */
int
ipc_send_ready(struct channel *ch, pid_t pid)
{
	return channel_sendf(ch, -1, "{\"cmd\":\"PORTER_READY\",\"pid\":%ld}",
	    (long)pid);
}

/* Built-in worker to master: its live and total connections. */
int
ipc_send_load(struct channel *ch, unsigned int active, uint64_t accepted)
{
	return channel_sendf(ch, -1, "{\"cmd\":\"PORTER_LOAD\",\"active\":%u,"
	    "\"accepted\":%llu}", active, (unsigned long long)accepted);
}

/* Worker to master: replace me (Node cluster's idiom). */
int
ipc_send_suicide(struct channel *ch)
{
	return channel_send(ch, msg_suicide, sizeof(msg_suicide) - 1, -1);
}
