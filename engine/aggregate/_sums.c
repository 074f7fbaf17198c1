/*
 * The running table's per-chunk sums in one pass: for each conversation's segment of a
 * chunk's grouped positions, its packets, bytes and payload each way, first and last time, the
 * TCP flags each way, its last counted row, and each counted packet's rank in its conversation.
 * numpy made some twenty passes over the chunk for this (reduceat per column, where per mask);
 * engine/aggregate/running.py keeps that code as the reference and the fallback, and the tests
 * compare the two (test_segment_sums.py).
 *
 * All indices are checked before the pass; the pass itself releases the interpreter lock.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

enum { PACKETS_AB, PACKETS_BA, BYTES_AB, BYTES_BA, PAYLOAD_AB, PAYLOAD_BA, START_NS, END_NS,
       N_SUMS };

static int sized(Py_buffer *b, Py_ssize_t count, Py_ssize_t item, const char *what)
{
    if (b->len != count * item) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes, expected %zd", what, b->len,
                     count * item);
        return 0;
    }
    return 1;
}

/* segment_sums(seg, prow, direction, counted, origlen, payload_len, ts, flags, ids, rank,
 *              sums, flags_ab, flags_ba, last_row)
 * seg: int64[k] segment starts (increasing, the first 0) over m positions; prow: int64[m]
 * chunk row of each position; direction, counted: uint8[m] (counted may be None: all are);
 * origlen: uint32[n], payload_len: int32[n] by chunk row; ts: int64[m]; flags: uint16[m];
 * ids: int64[k] conversation of each segment; rank: uint32[n] or None; sums: a tuple of the
 * N_SUMS int64 conversation columns (see the enum); flags_ab, flags_ba: uint16 conversation
 * columns; last_row: int64[k] out, the chunk row of each segment's last counted position or
 * -1. */
static PyObject *segment_sums(PyObject *self, PyObject *args)
{
    PyObject *counted_obj, *rank_obj, *sums_obj;
    Py_buffer seg = {0}, prow = {0}, dir = {0}, counted = {0}, origlen = {0}, plen = {0},
              ts = {0}, flags = {0}, ids = {0}, rank = {0}, fab = {0}, fba = {0}, last = {0};
    Py_buffer sums[N_SUMS] = {{0}};
    PyObject *result = NULL;
    int got = 0;
    if (!PyArg_ParseTuple(args, "y*y*y*Oy*y*y*y*y*OO!w*w*w*", &seg, &prow, &dir, &counted_obj,
                          &origlen, &plen, &ts, &flags, &ids, &rank_obj, &PyTuple_Type,
                          &sums_obj, &fab, &fba, &last))
        return NULL;
    if (counted_obj != Py_None && PyObject_GetBuffer(counted_obj, &counted, PyBUF_SIMPLE) < 0)
        goto out;
    if (rank_obj != Py_None
        && PyObject_GetBuffer(rank_obj, &rank, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        goto out;
    if (PyTuple_GET_SIZE(sums_obj) != N_SUMS) {
        PyErr_SetString(PyExc_ValueError, "wrong number of sum columns");
        goto out;
    }
    for (; got < N_SUMS; got++)
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(sums_obj, got), &sums[got],
                               PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
            goto out;
    Py_ssize_t k = seg.len / 8, m = prow.len / 8, n = origlen.len / 4,
               convs = sums[0].len / 8;
    if (!sized(&seg, k, 8, "seg") || !sized(&dir, m, 1, "direction")
        || (counted.obj && !sized(&counted, m, 1, "counted")) || !sized(&plen, n, 4, "payload_len")
        || !sized(&ts, m, 8, "ts") || !sized(&flags, m, 2, "flags") || !sized(&ids, k, 8, "ids")
        || (rank.obj && !sized(&rank, n, 4, "rank")) || !sized(&fab, convs, 2, "flags_ab")
        || !sized(&fba, convs, 2, "flags_ba") || !sized(&last, k, 8, "last_row"))
        goto out;
    for (int i = 1; i < N_SUMS; i++)
        if (!sized(&sums[i], convs, 8, "sum column"))
            goto out;
    const int64_t *starts = seg.buf, *rows = prow.buf, *conv = ids.buf, *when = ts.buf;
    for (Py_ssize_t j = 0; j < k; j++)
        if (starts[j] < 0 || starts[j] > m || (j && starts[j] < starts[j - 1])
            || conv[j] < 0 || conv[j] >= convs || (j == 0 && starts[0] != 0)) {
            PyErr_SetString(PyExc_ValueError, "segments or conversation ids out of range");
            goto out;
        }
    if (k == 0 && m != 0) {
        PyErr_SetString(PyExc_ValueError, "positions without segments");
        goto out;
    }
    for (Py_ssize_t i = 0; i < m; i++)
        if (rows[i] < 0 || rows[i] >= n) {
            PyErr_SetString(PyExc_ValueError, "a row out of range");
            goto out;
        }
    {
        const uint8_t *back = dir.buf, *is_counted = counted.obj ? counted.buf : NULL;
        const uint32_t *frame = origlen.buf;
        const int32_t *payload = plen.buf;
        const uint16_t *bits = flags.buf;
        uint32_t *ranks = rank.obj ? rank.buf : NULL;
        int64_t *col[N_SUMS];
        for (int i = 0; i < N_SUMS; i++)
            col[i] = sums[i].buf;
        uint16_t *flags_ab = fab.buf, *flags_ba = fba.buf;
        int64_t *last_row = last.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t j = 0; j < k; j++) {
            Py_ssize_t a = starts[j], b = j + 1 < k ? starts[j + 1] : m;
            int64_t id = conv[j];
            int64_t before = col[PACKETS_AB][id] + col[PACKETS_BA][id];
            int64_t count = 0, n_ba = 0, bytes_ab = 0, bytes_ba = 0, pay_ab = 0, pay_ba = 0;
            int64_t first = INT64_MAX, latest = INT64_MIN, last_at = -1;
            uint16_t or_ab = 0, or_ba = 0;
            for (Py_ssize_t i = a; i < b; i++) {
                int64_t r = rows[i];
                if (is_counted && !is_counted[i]) {
                    if (ranks)
                        ranks[r] = 0;
                    continue;
                }
                if (ranks)
                    ranks[r] = (uint32_t)(before + count);
                count++;
                int64_t size = frame[r], pay = payload[r] > 0 ? payload[r] : 0;
                if (back[i]) {
                    n_ba++;
                    bytes_ba += size;
                    pay_ba += pay;
                    or_ba |= bits[i];
                } else {
                    bytes_ab += size;
                    pay_ab += pay;
                    or_ab |= bits[i];
                }
                if (when[i] < first)
                    first = when[i];
                if (when[i] > latest)
                    latest = when[i];
                last_at = r;
            }
            col[PACKETS_BA][id] += n_ba;
            col[PACKETS_AB][id] += count - n_ba;
            col[BYTES_AB][id] += bytes_ab;
            col[BYTES_BA][id] += bytes_ba;
            col[PAYLOAD_AB][id] += pay_ab;
            col[PAYLOAD_BA][id] += pay_ba;
            if (first < col[START_NS][id])
                col[START_NS][id] = first;
            if (latest > col[END_NS][id])
                col[END_NS][id] = latest;
            flags_ab[id] |= or_ab;
            flags_ba[id] |= or_ba;
            last_row[j] = last_at;
        }
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
out:
    for (int i = 0; i < got; i++)
        PyBuffer_Release(&sums[i]);
    Py_buffer *all[] = {&seg, &prow, &dir, &counted, &origlen, &plen, &ts, &flags, &ids, &rank,
                        &fab, &fba, &last};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i]->obj)
            PyBuffer_Release(all[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"segment_sums", segment_sums, METH_VARARGS,
     "Add a chunk's conversation segments to the running table's sums."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sums", NULL, -1, methods};

PyMODINIT_FUNC PyInit__sums(void) { return PyModule_Create(&module); }
