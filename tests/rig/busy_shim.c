/* LD_PRELOAD shim: snd_pcm_open() of the PCM named by $POLYBOT_BUSY_PCM fails with -EBUSY, as a
 * hw: device another process (the running service) holds does. Everything else is libasound's.
 * The real function comes from dlopen("libasound.so.2", RTLD_NOW | RTLD_NOLOAD) + dlsym (see
 * unplug_shim.c for why not RTLD_NEXT).
 * Build: gcc -shared -fPIC -O2 -o busy_shim.so busy_shim.c -ldl
 */
#define _GNU_SOURCE
#include <alsa/asoundlib.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int snd_pcm_open(snd_pcm_t **pcm, const char *name, snd_pcm_stream_t stream, int mode)
{
    static int (*fn)(snd_pcm_t **, const char *, snd_pcm_stream_t, int);
    const char *busy = getenv("POLYBOT_BUSY_PCM");
    if (busy && name && strcmp(name, busy) == 0)
        return -EBUSY;
    if (!fn) {
        void *lib = dlopen("libasound.so.2", RTLD_NOW | RTLD_NOLOAD);
        if (!lib)
            lib = dlopen("libasound.so.2", RTLD_NOW);
        fn = lib ? dlsym(lib, "snd_pcm_open") : NULL;
    }
    return fn ? fn(pcm, name, stream, mode) : -ENOSYS;
}
