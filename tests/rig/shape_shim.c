/* LD_PRELOAD shim: give the code under test a sound device of one exact shape, and stall it.
 *
 * Narrowing (every variable optional; for the streams in $POLYBOT_SHAPE_STREAM: capture (default),
 * playback or both): after the real snd_pcm_hw_params_any() fills the configuration space, it is
 * restricted the way a real hw: device restricts it:
 *   $POLYBOT_SHAPE_FORMAT    one format by name (S16_LE, S24_3LE, S32_LE, ...)
 *   $POLYBOT_SHAPE_RATE      one rate in Hz
 *   $POLYBOT_SHAPE_CHANNELS  one channel count
 * The rig's file/null PCMs accept anything; with this they refuse everything else, so a caller that
 * asks for S16_LE mono 48 kHz gets what a real S32-only 4-channel I2S mic gives: another format,
 * silently (pyalsaaudio ignores a failed set_format).
 *
 * Stalling: while the file named by $POLYBOT_STALL_FLAG exists, snd_pcm_readi() and
 * snd_pcm_writei() on the streams in $POLYBOT_SHAPE_STREAM return -EAGAIN: the device stays open
 * and "ready" but moves no audio, like a USB device after an isochronous glitch.
 *
 * Real functions: dlopen("libasound.so.2", RTLD_NOW | RTLD_NOLOAD) + dlsym (RTLD_NEXT is NULL
 * here: Python loads libasound with RTLD_LOCAL).
 * Build: gcc -shared -fPIC -O2 -o shape_shim.so shape_shim.c -ldl
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

static int affects(snd_pcm_t *pcm)
{
    static snd_pcm_stream_t (*stream_of)(snd_pcm_t *);
    const char *which = getenv("POLYBOT_SHAPE_STREAM");
    snd_pcm_stream_t stream;
    if (!stream_of)
        stream_of = real("snd_pcm_stream");
    if (!stream_of)
        return 0;
    stream = stream_of(pcm);
    if (!which || !*which || strcmp(which, "capture") == 0)
        return stream == SND_PCM_STREAM_CAPTURE;
    if (strcmp(which, "playback") == 0)
        return stream == SND_PCM_STREAM_PLAYBACK;
    return 1;
}

static int stalled(snd_pcm_t *pcm)
{
    const char *path = getenv("POLYBOT_STALL_FLAG");
    return path && *path && access(path, F_OK) == 0 && affects(pcm);
}

static unsigned int number(const char *var)
{
    const char *text = getenv(var);
    return text && *text ? (unsigned int)strtoul(text, NULL, 10) : 0;
}

int snd_pcm_hw_params_any(snd_pcm_t *pcm, snd_pcm_hw_params_t *params)
{
    static int (*any)(snd_pcm_t *, snd_pcm_hw_params_t *);
    static int (*set_format)(snd_pcm_t *, snd_pcm_hw_params_t *, snd_pcm_format_t);
    static int (*set_uint)(snd_pcm_t *, snd_pcm_hw_params_t *, unsigned int);
    static int (*set_rate)(snd_pcm_t *, snd_pcm_hw_params_t *, unsigned int, int);
    static snd_pcm_format_t (*format_value)(const char *);
    const char *format = getenv("POLYBOT_SHAPE_FORMAT");
    unsigned int rate = number("POLYBOT_SHAPE_RATE"), channels = number("POLYBOT_SHAPE_CHANNELS");
    int err;
    if (!any) {
        any = real("snd_pcm_hw_params_any");
        set_format = real("snd_pcm_hw_params_set_format");
        set_uint = real("snd_pcm_hw_params_set_channels");
        set_rate = real("snd_pcm_hw_params_set_rate");
        format_value = real("snd_pcm_format_value");
    }
    if (!any)
        return -ENOSYS;
    err = any(pcm, params);
    if (err < 0 || !affects(pcm))
        return err;
    if (format && *format && (err = set_format(pcm, params, format_value(format))) < 0)
        return err;
    if (rate && (err = set_rate(pcm, params, rate, 0)) < 0)
        return err;
    if (channels && (err = set_uint(pcm, params, channels)) < 0)
        return err;
    return 0;
}

snd_pcm_sframes_t snd_pcm_readi(snd_pcm_t *pcm, void *buffer, snd_pcm_uframes_t size)
{
    static snd_pcm_sframes_t (*fn)(snd_pcm_t *, void *, snd_pcm_uframes_t);
    if (stalled(pcm))
        return -EAGAIN;
    if (!fn)
        fn = real("snd_pcm_readi");
    return fn ? fn(pcm, buffer, size) : -ENOSYS;
}

snd_pcm_sframes_t snd_pcm_writei(snd_pcm_t *pcm, const void *buffer, snd_pcm_uframes_t size)
{
    static snd_pcm_sframes_t (*fn)(snd_pcm_t *, const void *, snd_pcm_uframes_t);
    if (stalled(pcm))
        return -EAGAIN;
    if (!fn)
        fn = real("snd_pcm_writei");
    return fn ? fn(pcm, buffer, size) : -ENOSYS;
}
