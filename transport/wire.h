/*
 * The byte pipe under one HTTP/2 connection: a non-blocking socket, with
 * TLS done in memory when there is an SSL. Private to transport/.
 *
 * Why not libevent's bufferevents: they read at most 4 KiB per loop pass
 * from a socket (EVBUFFER_MAX_READ) and one TLS record (two read(2)s) per
 * pass over OpenSSL, and every write waits for an EPOLLOUT round trip.
 * Here one pass reads what the socket has (up to WIRE_PASS bytes, 256 KiB
 * per read(2)), OpenSSL never touches the socket (a BIO moves ciphertext
 * through evbuffers), and queued output is written with writev(2) at once,
 * many TLS records per call; EPOLLOUT is waited for only when the socket
 * is full.
 */
#ifndef EXECFS_TRANSPORT_WIRE_H
#define EXECFS_TRANSPORT_WIRE_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct evbuffer;
struct wire; /* opaque */

/* The most one loop pass reads from or writes to one socket. */
#define WIRE_PASS (1024 * 1024)

struct wire_cbs {
	/* The connect finished and, over TLS, the handshake too. */
	void (*on_up)(void *arg);
	/* Bytes from the peer (decrypted). Consumed before return: the
	 * buffer is reused. Return < 0 to stop reading (tearing down). */
	int (*on_recv)(void *arg, const uint8_t *data, size_t len);
	/* Queued output fell under WIRE_LOWAT after the socket was full. */
	void (*on_drain)(void *arg);
	/* The wire is dead (peer closed, I/O or TLS error, failed connect
	 * or handshake); why says which. No callback follows. */
	void (*on_down)(void *arg, const char *why);
};

/* Output queued above this: stop adding; on_drain when under WIRE_LOWAT. */
#define WIRE_HIWAT (256 * 1024)
#define WIRE_LOWAT (WIRE_HIWAT / 2)

/*
 * A wire on a connected socket fd (owned from now on, even on failure),
 * TLS through ssl when not NULL (owned; in accept or connect state as the
 * caller set it, the handshake starts at once). NULL when out of memory.
 */
struct wire *wire_new(struct event_base *base, int fd, SSL *ssl,
		      const struct wire_cbs *cbs, void *arg);
/*
 * Connect to sa without blocking; on_up (or on_down) follows from the
 * loop. ssl as for wire_new (owned, even on failure). NULL with errno set
 * when the connect failed at once.
 */
struct wire *wire_connect(struct event_base *base, const struct sockaddr *sa,
			  socklen_t salen, SSL *ssl, const struct wire_cbs *cbs,
			  void *arg);
void wire_free(struct wire *w);

/* Queue bytes for the peer (encrypted now over TLS); they leave with the
 * next wire_flush(). 0 or -ENOMEM; -EPIPE once the wire is down. */
int wire_write(struct wire *w, const void *data, size_t len);
/* Queue a frame whose body is the first len bytes of body, moved out of
 * it without copying where the buffer's memory allows (plain: its chains
 * change hands; TLS: whole records are encrypted from them in place). */
int wire_write_frame(struct wire *w, const uint8_t *head, size_t hlen,
		     struct evbuffer *body, size_t len);
/* Write what is queued now, as far as the socket takes it. */
void wire_flush(struct wire *w);
/* Bytes queued and not yet taken by the socket. */
size_t wire_pending(const struct wire *w);

int wire_fd(const struct wire *w);
/* NULL on a plain socket. */
SSL *wire_ssl(const struct wire *w);

#endif
