/* LD_PRELOAD shim: a small, fixed TCP send buffer, as on a Wi-Fi uplink.
 *
 * On loopback the kernel grows a socket's send buffer to megabytes (about a minute of the
 * daemon's audio), so a dead link would take a minute to push back on the sender. A Wi-Fi
 * uplink fills within seconds. While $POLYBOT_SNDBUF_BYTES is set, every TCP connect() first
 * sets SO_SNDBUF to that size (which also stops the kernel from growing it), so the daemon's
 * writes block soon after the link goes dead, as they would on the gadget.
 * libc is loaded globally, so RTLD_NEXT finds the real connect().
 * Build: gcc -shared -fPIC -O2 -o sndbuf_shim.so sndbuf_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    static int (*real_connect)(int, const struct sockaddr *, socklen_t);
    const char *size = getenv("POLYBOT_SNDBUF_BYTES");
    int type = 0;
    socklen_t type_len = sizeof type;
    if (size && *size && addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)
        && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 && type == SOCK_STREAM) {
        int bytes = atoi(size);
        if (bytes > 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    }
    if (!real_connect)
        real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
    return real_connect(fd, addr, len);
}
