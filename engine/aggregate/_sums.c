/*
 * The running table's per-chunk sums in one pass: for each conversation's segment of a
 * chunk's grouped positions, its packets, bytes and payload each way, first and last time, the
 * TCP flags each way, its last counted row, and each counted packet's rank in its conversation.
 * numpy made some twenty passes over the chunk for this (reduceat per column, where per mask);
 * engine/aggregate/running.py keeps that code as the reference and the fallback, and the tests
 * compare the two (test_segment_sums.py).
 *
 * The arguments are checked by engine/buffer_args.h and every index before the pass; the pass
 * itself releases the interpreter lock.
 */
#include "../buffer_args.h"

/* The arguments, in order (see segment_sums). */
enum { A_SEG, A_PROW, A_DIRECTION, A_COUNTED, A_ORIGLEN, A_PAYLOAD_LEN, A_TS, A_FLAGS, A_IDS,
       A_RANK, A_PACKETS_AB, A_PACKETS_BA, A_BYTES_AB, A_BYTES_BA, A_PAYLOAD_AB, A_PAYLOAD_BA,
       A_START_NS, A_END_NS, A_FLAGS_AB, A_FLAGS_BA, A_LAST_ROW, NARGS };

static const Spec specs[NARGS] = {
    {"seg", 'i', 8, 0},        {"prow", 'i', 8, 0},        {"direction", 'b', 1, 0},
    {"counted", 'b', 1, 0},    {"origlen", 'u', 4, 0},     {"payload_len", 'i', 4, 0},
    {"ts", 'i', 8, 0},         {"flags", 'u', 2, 0},       {"ids", 'i', 8, 0},
    {"rank", 'u', 4, 1},       {"packets_ab", 'i', 8, 1},  {"packets_ba", 'i', 8, 1},
    {"bytes_ab", 'i', 8, 1},   {"bytes_ba", 'i', 8, 1},    {"payload_ab", 'i', 8, 1},
    {"payload_ba", 'i', 8, 1}, {"start_ns", 'i', 8, 1},    {"end_ns", 'i', 8, 1},
    {"flags_ab", 'u', 2, 1},   {"flags_ba", 'u', 2, 1},    {"last_row", 'i', 8, 1},
};
/* what each argument's length is counted in: k segments, m positions, n chunk rows,
 * c conversations (counted and rank may be None) */
static const char units[NARGS + 1] = "kmmmnnmmkncccccccccck";

/* segment_sums(seg, prow, direction, counted, origlen, payload_len, ts, flags, ids, rank,
 *              packets_ab, packets_ba, bytes_ab, bytes_ba, payload_ab, payload_ba, start_ns,
 *              end_ns, flags_ab, flags_ba, last_row) -> None
 * seg: segment starts (increasing, the first 0) over the m positions; prow: chunk row of each
 * position; direction, counted (None: all are): per position; origlen, payload_len: by chunk
 * row; ts, flags: per position; ids: conversation of each segment; rank (or None): written by
 * chunk row; then the conversation columns added to; last_row: written per segment, the chunk
 * row of its last counted position or -1. */
static PyObject *segment_sums(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *obj[NARGS];
    Py_buffer view[NARGS];
    memset(view, 0, sizeof(view));
    if (!PyArg_UnpackTuple(args, "segment_sums", NARGS, NARGS, &obj[0], &obj[1], &obj[2],
                           &obj[3], &obj[4], &obj[5], &obj[6], &obj[7], &obj[8], &obj[9],
                           &obj[10], &obj[11], &obj[12], &obj[13], &obj[14], &obj[15],
                           &obj[16], &obj[17], &obj[18], &obj[19], &obj[20]))
        return NULL;
    /* the counts come from seg, prow, origlen and packets_ab; the rest must match them */
    Py_ssize_t count[128] = {0};
    static const int sizing[4] = {A_SEG, A_PROW, A_ORIGLEN, A_PACKETS_AB};
    for (int i = 0; i < 4; i++) {
        int a = sizing[i];
        if (!take(obj[a], &specs[a], -1, &view[a]))
            goto fail;
        count[(unsigned char)units[a]] = view[a].len / specs[a].itemsize;
    }
    for (int a = 0; a < NARGS; a++) {
        if (view[a].obj || ((a == A_COUNTED || a == A_RANK) && obj[a] == Py_None))
            continue;
        if (!take(obj[a], &specs[a], count[(unsigned char)units[a]], &view[a]))
            goto fail;
    }
    Py_ssize_t k = count['k'], m = count['m'], n = count['n'], convs = count['c'];
    const int64_t *starts = view[A_SEG].buf, *rows = view[A_PROW].buf, *conv = view[A_IDS].buf;
    for (Py_ssize_t j = 0; j < k; j++)
        if (starts[j] < 0 || starts[j] > m || (j && starts[j] < starts[j - 1])
            || (j == 0 && starts[0] != 0) || conv[j] < 0 || conv[j] >= convs) {
            PyErr_SetString(PyExc_ValueError, "segments or conversation ids out of range");
            goto fail;
        }
    if (k == 0 && m != 0) {
        PyErr_SetString(PyExc_ValueError, "positions without segments");
        goto fail;
    }
    for (Py_ssize_t i = 0; i < m; i++)
        if (rows[i] < 0 || rows[i] >= n) {
            PyErr_SetString(PyExc_ValueError, "a row out of range");
            goto fail;
        }
    {
        const int64_t *when = view[A_TS].buf;
        const uint8_t *back = view[A_DIRECTION].buf;
        const uint8_t *is_counted = view[A_COUNTED].obj ? view[A_COUNTED].buf : NULL;
        const uint32_t *frame = view[A_ORIGLEN].buf;
        const int32_t *payload = view[A_PAYLOAD_LEN].buf;
        const uint16_t *bits = view[A_FLAGS].buf;
        uint32_t *ranks = view[A_RANK].obj ? view[A_RANK].buf : NULL;
        int64_t *packets_ab = view[A_PACKETS_AB].buf, *packets_ba = view[A_PACKETS_BA].buf;
        int64_t *bytes_ab = view[A_BYTES_AB].buf, *bytes_ba = view[A_BYTES_BA].buf;
        int64_t *payload_ab = view[A_PAYLOAD_AB].buf, *payload_ba = view[A_PAYLOAD_BA].buf;
        int64_t *start_ns = view[A_START_NS].buf, *end_ns = view[A_END_NS].buf;
        uint16_t *flags_ab = view[A_FLAGS_AB].buf, *flags_ba = view[A_FLAGS_BA].buf;
        int64_t *last_row = view[A_LAST_ROW].buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t j = 0; j < k; j++) {
            Py_ssize_t a = starts[j], b = j + 1 < k ? starts[j + 1] : m;
            int64_t id = conv[j];
            int64_t before = packets_ab[id] + packets_ba[id];
            int64_t counted = 0, n_ba = 0, b_ab = 0, b_ba = 0, p_ab = 0, p_ba = 0;
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
                    ranks[r] = (uint32_t)(before + counted);
                counted++;
                int64_t size = frame[r], pay = payload[r] > 0 ? payload[r] : 0;
                if (back[i]) {
                    n_ba++;
                    b_ba += size;
                    p_ba += pay;
                    or_ba |= bits[i];
                } else {
                    b_ab += size;
                    p_ab += pay;
                    or_ab |= bits[i];
                }
                if (when[i] < first)
                    first = when[i];
                if (when[i] > latest)
                    latest = when[i];
                last_at = r;
            }
            packets_ba[id] += n_ba;
            packets_ab[id] += counted - n_ba;
            bytes_ab[id] += b_ab;
            bytes_ba[id] += b_ba;
            payload_ab[id] += p_ab;
            payload_ba[id] += p_ba;
            if (first < start_ns[id])
                start_ns[id] = first;
            if (latest > end_ns[id])
                end_ns[id] = latest;
            flags_ab[id] |= or_ab;
            flags_ba[id] |= or_ba;
            last_row[j] = last_at;
        }
        Py_END_ALLOW_THREADS
    }
    release_all(view, NARGS);
    Py_RETURN_NONE;
fail:
    release_all(view, NARGS);
    return NULL;
}

static PyMethodDef methods[] = {
    {"segment_sums", segment_sums, METH_VARARGS,
     "Add a chunk's conversation segments to the running table's sums."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sums", NULL, -1, methods};

PyMODINIT_FUNC PyInit__sums(void) { return PyModule_Create(&module); }
