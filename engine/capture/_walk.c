/*
 * Record walkers for the capture readers: the one loop in Flowscope that cannot be vectorised,
 * because every record header says where the next one starts.
 *
 * Both functions only read inside [pos, end) of the given buffer and write at most len(out)
 * offsets; they release the GIL while walking so a GUI thread stays responsive. The Python
 * readers (engine/capture/pcap.py, pcapng.py) hold an equivalent pure-Python loop that is used
 * when this module is not built; tests check that both give the same answers.
 */
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

/* walk_pcap(buf, pos, end, header_size, big_endian, out) -> (count, stop)
 * Records are [header_size bytes of header, caplen bytes of data]; caplen is the u32 at +8. */
static PyObject *walk_pcap(PyObject *self, PyObject *args)
{
    Py_buffer buf, out;
    Py_ssize_t pos, end, hdr, n = 0;
    int big_endian;
    if (!PyArg_ParseTuple(args, "y*nnnpw*", &buf, &pos, &end, &hdr, &big_endian, &out))
        return NULL;
    if (!check_range(&buf, pos, end) || hdr < 12) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "record header too small");
        PyBuffer_Release(&buf);
        PyBuffer_Release(&out);
        return NULL;
    }
    const unsigned char *b = (const unsigned char *)buf.buf;
    int64_t *offsets = (int64_t *)out.buf;
    Py_ssize_t room = out.len / (Py_ssize_t)sizeof(int64_t);
    Py_BEGIN_ALLOW_THREADS
    while (n < room && end - pos >= hdr) {
        uint64_t next = (uint64_t)pos + (uint64_t)hdr + read32(b + pos + 8, big_endian);
        if (next > (uint64_t)end)
            break;
        offsets[n++] = pos;
        pos = (Py_ssize_t)next;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    PyBuffer_Release(&out);
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
    Py_BEGIN_ALLOW_THREADS
    while (end - pos >= 12) {
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

static PyMethodDef methods[] = {
    {"walk_pcap", walk_pcap, METH_VARARGS, "Offsets of the complete pcap records in a buffer."},
    {"walk_pcapng", walk_pcapng, METH_VARARGS, "Offsets of pcapng packet blocks in a buffer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_walk", NULL, -1, methods};

PyMODINIT_FUNC PyInit__walk(void) { return PyModule_Create(&module); }
