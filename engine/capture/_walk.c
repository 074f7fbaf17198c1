/*
 * Record walkers for the capture readers: the one loop in Flowscope that cannot be vectorised,
 * because every record header says where the next one starts. And the decoder's gather of
 * fixed-width header windows, which numpy does one memmove call per window.
 *
 * The walks only read inside [pos, end) of the given buffer and write at most len(out)
 * offsets; they release the GIL while walking so a GUI thread stays responsive. The Python
 * readers (engine/capture/pcap.py, pcapng.py) hold an equivalent pure-Python loop that is used
 * when this module is not built; tests check that both give the same answers.
 */
#include <string.h>
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

static inline uint32_t read32(const unsigned char *p, int big_endian)
{
    if (big_endian)
        return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

static int check_range(Py_buffer *buf, Py_ssize_t pos, Py_ssize_t end)
{
    if (pos < 0 || end < pos || end > buf->len) {
        PyErr_SetString(PyExc_ValueError, "walk range outside the buffer");
        return 0;
    }
    return 1;
}

/* Each header says where the next one is, so the walk waits for memory at every record (about
 * 100 ns when the buffer has left the caches) unless the bytes ahead were asked for already:
 * the walk streams the next few kilobytes in while it reads the current header. */
#define PREFETCH_BYTES 4096
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* walk_pcap(buf, pos, end, header_size, big_endian, out[, heads]) -> (count, stop)
 * Records are [header_size bytes of header, caplen bytes of data]; caplen is the u32 at +8.
 * With ``heads`` (room for 4 u32 a record), each record's first four header fields (seconds,
 * fraction, caplen, original length) are written there in this machine's byte order: the walk
 * has the header in cache, and gathering them again afterwards cost as much as the walk. */
static PyObject *walk_pcap(PyObject *self, PyObject *args)
{
    Py_buffer buf, out, heads = {0};
    Py_ssize_t pos, end, hdr, n = 0;
    int big_endian;
    if (!PyArg_ParseTuple(args, "y*nnnpw*|w*", &buf, &pos, &end, &hdr, &big_endian, &out,
                          &heads))
        return NULL;
    if (!check_range(&buf, pos, end) || hdr < 12 || (heads.obj && hdr < 16)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "record header too small");
        PyBuffer_Release(&buf);
        PyBuffer_Release(&out);
        if (heads.obj)
            PyBuffer_Release(&heads);
        return NULL;
    }
    const unsigned char *b = (const unsigned char *)buf.buf;
    int64_t *offsets = (int64_t *)out.buf;
    uint32_t *fields = heads.obj ? (uint32_t *)heads.buf : NULL;
    Py_ssize_t room = out.len / (Py_ssize_t)sizeof(int64_t);
    if (fields && heads.len / (Py_ssize_t)(4 * sizeof(uint32_t)) < room)
        room = heads.len / (Py_ssize_t)(4 * sizeof(uint32_t));
    Py_ssize_t ahead = pos; /* bytes up to here were asked for (see PREFETCH_BYTES) */
    Py_BEGIN_ALLOW_THREADS
    while (n < room && end - pos >= hdr) {
        const unsigned char *h = b + pos;
        if (ahead < pos) /* (past a record longer than the window: its body is not wanted) */
            ahead = pos;
        for (Py_ssize_t limit = pos + PREFETCH_BYTES < end ? pos + PREFETCH_BYTES : end;
             ahead < limit; ahead += 64)
            PREFETCH(b + ahead);
        uint32_t caplen = read32(h + 8, big_endian);
        uint64_t next = (uint64_t)pos + (uint64_t)hdr + caplen;
        if (next > (uint64_t)end)
            break;
        if (fields) {
            uint32_t *f = fields + 4 * n;
            f[0] = read32(h, big_endian);
            f[1] = read32(h + 4, big_endian);
            f[2] = caplen;
            f[3] = read32(h + 12, big_endian);
        }
        offsets[n++] = pos;
        pos = (Py_ssize_t)next;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    PyBuffer_Release(&out);
    if (heads.obj)
        PyBuffer_Release(&heads);
    return Py_BuildValue("nn", n, pos);
}

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_PB 0x00000002u
#define PCAPNG_SPB 0x00000003u
#define PCAPNG_EPB 0x00000006u

enum { STOP_DATA = 0, STOP_SPECIAL = 1, STOP_BAD = 2, STOP_FULL = 3 };

/* walk_pcapng(buf, pos, end, big_endian, max_block, out) -> (count, stop, why)
 * Collects the offsets of packet blocks (EPB, SPB, PB), skips other blocks by their length and
 * stops at a section or interface block (for Python to parse), at a block whose length is
 * impossible or differs from the copy at its end, when the next block is incomplete, or when
 * ``out`` is full. */
static PyObject *walk_pcapng(PyObject *self, PyObject *args)
{
    Py_buffer buf, out;
    Py_ssize_t pos, end, max_block, n = 0;
    int big_endian, why = STOP_DATA;
    if (!PyArg_ParseTuple(args, "y*nnpnw*", &buf, &pos, &end, &big_endian, &max_block, &out))
        return NULL;
    if (!check_range(&buf, pos, end)) {
        PyBuffer_Release(&buf);
        PyBuffer_Release(&out);
        return NULL;
    }
    const unsigned char *b = (const unsigned char *)buf.buf;
    int64_t *offsets = (int64_t *)out.buf;
    Py_ssize_t room = out.len / (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t ahead = pos;
    Py_BEGIN_ALLOW_THREADS
    while (end - pos >= 12) {
        if (ahead < pos)
            ahead = pos;
        for (Py_ssize_t limit = pos + PREFETCH_BYTES < end ? pos + PREFETCH_BYTES : end;
             ahead < limit; ahead += 64)
            PREFETCH(b + ahead);
        uint32_t type = read32(b + pos, big_endian);
        uint32_t len = read32(b + pos + 4, big_endian);
        if (type == PCAPNG_SHB || type == PCAPNG_IDB) {
            why = STOP_SPECIAL;
            break;
        }
        if (len < 12 || (len & 3) || (Py_ssize_t)len > max_block) {
            why = STOP_BAD;
            break;
        }
        if ((Py_ssize_t)len > end - pos)
            break;
        if (read32(b + pos + len - 4, big_endian) != len) {
            why = STOP_BAD;
            break;
        }
        if (type == PCAPNG_EPB || type == PCAPNG_SPB || type == PCAPNG_PB) {
            if (n >= room) {
                why = STOP_FULL;
                break;
            }
            offsets[n++] = pos;
        }
        pos += len;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    PyBuffer_Release(&out);
    return Py_BuildValue("nni", n, pos, why);
}

/* gather(buf, pos, width, out) -> bool
 * Copies buf[pos[k] : pos[k] + width] to out[k * width :] for every k (pos: native int64).
 * Returns False, having written nothing, when a window would leave the buffer or the
 * arguments do not fit: the caller then uses numpy, whose answer (and error) is the reference.
 * The copies are of a size known here for the decoder's usual widths, so the compiler turns
 * each into a few moves instead of a call. */
#define COPY_WINDOWS(W)                                                                       \
    for (Py_ssize_t k = 0; k < n; k++)                                                        \
        memcpy(dst + k * (W), src + at[k], (W))

static PyObject *gather(PyObject *self, PyObject *args)
{
    Py_buffer buf, pos, out;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "y*y*nw*", &buf, &pos, &width, &out))
        return NULL;
    const unsigned char *src = buf.buf;
    unsigned char *dst = out.buf;
    const int64_t *at = pos.buf;
    Py_ssize_t n = pos.len / (Py_ssize_t)sizeof(int64_t);
    int fits = width > 0 && pos.len % (Py_ssize_t)sizeof(int64_t) == 0 && width <= buf.len
               && out.len == n * width;
    if (fits) {
        int64_t last = (int64_t)(buf.len - width);
        for (Py_ssize_t k = 0; k < n; k++)
            if (at[k] < 0 || at[k] > last) {
                fits = 0;
                break;
            }
    }
    if (fits) {
        Py_BEGIN_ALLOW_THREADS
        switch (width) {
        case 1: COPY_WINDOWS(1); break;
        case 4: COPY_WINDOWS(4); break;
        case 8: COPY_WINDOWS(8); break;
        case 16: COPY_WINDOWS(16); break;
        case 20: COPY_WINDOWS(20); break;
        case 26: COPY_WINDOWS(26); break;
        case 28: COPY_WINDOWS(28); break;
        case 40: COPY_WINDOWS(40); break;
        case 60: COPY_WINDOWS(60); break;
        default: COPY_WINDOWS(width); break;
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&buf);
    PyBuffer_Release(&pos);
    PyBuffer_Release(&out);
    return PyBool_FromLong(fits);
}

static PyMethodDef methods[] = {
    {"walk_pcap", walk_pcap, METH_VARARGS, "Offsets of the complete pcap records in a buffer."},
    {"walk_pcapng", walk_pcapng, METH_VARARGS, "Offsets of pcapng packet blocks in a buffer."},
    {"gather", gather, METH_VARARGS, "Fixed-width windows of a buffer at given offsets."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_walk", NULL, -1, methods};

PyMODINIT_FUNC PyInit__walk(void) { return PyModule_Create(&module); }
