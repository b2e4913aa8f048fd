/* LD_PRELOAD shim: while the file named by $POLYBOT_UNPLUG_FLAG exists, the sound device is
 * "unplugged" exactly as a vanished USB device looks at the libasound boundary:
 *   snd_pcm_open()   -> -ENOENT  (for the streams in $POLYBOT_UNPLUG_STREAM: capture (default),
 *                                 playback or both)
 *   snd_pcm_readi()  -> -ENODEV  (capture)
 *   snd_pcm_writei() -> -ENODEV  (playback)
 * While the file named by $POLYBOT_XRUN_FLAG exists, the next snd_pcm_readi() removes it and
 * returns -EPIPE once (an overrun).
 *
 * The real functions come from dlopen("libasound.so.2", RTLD_NOW | RTLD_NOLOAD) + dlsym:
 * RTLD_NEXT returns NULL here because Python loads libasound with RTLD_LOCAL.
 * Build: gcc -shared -fPIC -O2 -o unplug_shim.so unplug_shim.c -ldl
 */
#define _GNU_SOURCE
#include <alsa/asoundlib.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *real(const char *name)
{
    void *lib = dlopen("libasound.so.2", RTLD_NOW | RTLD_NOLOAD);
    if (!lib)
        lib = dlopen("libasound.so.2", RTLD_NOW);
    return lib ? dlsym(lib, name) : NULL;
}

static int flag_exists(const char *var)
{
    const char *path = getenv(var);
    return path && *path && access(path, F_OK) == 0;
}

static int affects(snd_pcm_stream_t stream)
{
    const char *which = getenv("POLYBOT_UNPLUG_STREAM");
    if (!which || !*which || strcmp(which, "capture") == 0)
        return stream == SND_PCM_STREAM_CAPTURE;
    if (strcmp(which, "playback") == 0)
        return stream == SND_PCM_STREAM_PLAYBACK;
    return 1;
}

int snd_pcm_open(snd_pcm_t **pcm, const char *name, snd_pcm_stream_t stream, int mode)
{
    static int (*fn)(snd_pcm_t **, const char *, snd_pcm_stream_t, int);
    if (affects(stream) && flag_exists("POLYBOT_UNPLUG_FLAG"))
        return -ENOENT;
    if (!fn)
        fn = real("snd_pcm_open");
    return fn ? fn(pcm, name, stream, mode) : -ENOSYS;
}

snd_pcm_sframes_t snd_pcm_readi(snd_pcm_t *pcm, void *buffer, snd_pcm_uframes_t size)
{
    static snd_pcm_sframes_t (*fn)(snd_pcm_t *, void *, snd_pcm_uframes_t);
    if (affects(SND_PCM_STREAM_CAPTURE) && flag_exists("POLYBOT_UNPLUG_FLAG"))
        return -ENODEV;
    if (flag_exists("POLYBOT_XRUN_FLAG")) {
        unlink(getenv("POLYBOT_XRUN_FLAG"));
        return -EPIPE;
    }
    if (!fn)
        fn = real("snd_pcm_readi");
    return fn ? fn(pcm, buffer, size) : -ENOSYS;
}

snd_pcm_sframes_t snd_pcm_writei(snd_pcm_t *pcm, const void *buffer, snd_pcm_uframes_t size)
{
    static snd_pcm_sframes_t (*fn)(snd_pcm_t *, const void *, snd_pcm_uframes_t);
    if (affects(SND_PCM_STREAM_PLAYBACK) && flag_exists("POLYBOT_UNPLUG_FLAG"))
        return -ENODEV;
    if (!fn)
        fn = real("snd_pcm_writei");
    return fn ? fn(pcm, buffer, size) : -ENOSYS;
}
