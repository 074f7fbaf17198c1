/*
 * The number lists JA3 and JA4 hash (engine/app/fingerprints.py: py_dash, py_hex_list): GREASE
 * values left out, decimal and dash-joined, or 4-digit hex, comma-joined, sorted if asked.
 */
#include "parsers.h"

/* RFC 8701 GREASE values: 0x0a0a, 0x1a1a, ... 0xfafa. */
static inline int is_grease(long v) { return (v & 0x0F0F) == 0x0A0A && (v >> 8) == (v & 0xFF); }

/* The values of a list or tuple of ints in 0..0xffff into a new array (*n of them); NULL with
 * no exception set when a value is anything else (the Python side then does the work). */
static long *small_values(PyObject *seq, Py_ssize_t *n)
{
    PyObject *fast = PySequence_Fast(seq, "a list of values");
    if (fast == NULL)
        return NULL;
    *n = PySequence_Fast_GET_SIZE(fast);
    long *out = PyMem_Malloc(sizeof(long) * (size_t)(*n > 0 ? *n : 1));
    if (out == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t k = 0; k < *n; k++) {
        long v = PyLong_Check(items[k]) ? PyLong_AsLong(items[k]) : -1;
        if (v < 0 || v > 0xFFFF) {
            PyErr_Clear();
            PyMem_Free(out);
            Py_DECREF(fast);
            return NULL;
        }
        out[k] = v;
    }
    Py_DECREF(fast);
    return out;
}

/* decimal_list(values, skip_grease) -> "771-4865-..." or None for values outside 0..0xffff:
 * JA3's lists (fingerprints._dash). */
PyObject *decimal_list(PyObject *self, PyObject *args)
{
    PyObject *seq;
    int skip = 1;
    if (!PyArg_ParseTuple(args, "O|p", &seq, &skip))
        return NULL;
    Py_ssize_t n;
    long *v = small_values(seq, &n);
    if (v == NULL)
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    char *text = PyMem_Malloc((size_t)n * 6 + 1);
    PyObject *out = NULL;
    if (text == NULL) {
        PyErr_NoMemory();
    } else {
        Py_ssize_t used = 0;
        for (Py_ssize_t k = 0; k < n; k++) {
            if (skip && is_grease(v[k]))
                continue;
            if (used)
                text[used++] = '-';
            used += put_decimal(text + used, (uint64_t)v[k]);
        }
        out = PyUnicode_FromStringAndSize(text, used);
    }
    PyMem_Free(text);
    PyMem_Free(v);
    return out;
}

static int compare_longs(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* (values as hex text, count) like hex_list, or None for values outside 0..0xffff. */
static PyObject *hex_list_of(PyObject *seq, int sort, int drop)
{
    Py_ssize_t n, kept = 0;
    long *v = small_values(seq, &n);
    if (v == NULL)
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    for (Py_ssize_t k = 0; k < n; k++)
        if (!is_grease(v[k]))
            v[kept++] = v[k];
    if (sort)
        qsort(v, (size_t)kept, sizeof(long), compare_longs);
    char *text = PyMem_Malloc((size_t)kept * 5 + 1);
    PyObject *out = NULL;
    if (text == NULL) {
        PyErr_NoMemory();
    } else {
        Py_ssize_t used = 0;
        for (Py_ssize_t k = 0; k < kept; k++) {
            if (drop && (v[k] == 0x0000 || v[k] == 0x0010))
                continue;
            if (used)
                text[used++] = ',';
            used += put_hex(text + used, (unsigned)v[k], 4);
        }
        out = Py_BuildValue("(Nn)", PyUnicode_FromStringAndSize(text, used), kept);
    }
    PyMem_Free(text);
    PyMem_Free(v);
    return out;
}

/* hex_list(values, sort, drop_sni_alpn) -> ("002f,0035", count) or None for values outside
 * 0..0xffff: JA4's lists, GREASE left out, sorted or not, without 0x0000 and 0x0010 if asked;
 * count is the number of values without GREASE (before SNI and ALPN are dropped). */
PyObject *hex_list(PyObject *self, PyObject *args)
{
    PyObject *seq;
    int sort = 0, drop = 0;
    if (!PyArg_ParseTuple(args, "Opp", &seq, &sort, &drop))
        return NULL;
    return hex_list_of(seq, sort, drop);
}

/* ja4_lists(ciphers, extensions, signature_algorithms) -> the three hex_list answers JA4
 * hashes (ciphers sorted; extensions sorted, without SNI and ALPN; signature algorithms in
 * order) in one call, or None when any has a value outside 0..0xffff. */
PyObject *ja4_lists(PyObject *self, PyObject *args)
{
    PyObject *seqs[3];
    static const int sort[3] = {1, 1, 0}, drop[3] = {0, 1, 0};
    if (!PyArg_ParseTuple(args, "OOO", &seqs[0], &seqs[1], &seqs[2]))
        return NULL;
    PyObject *out = PyTuple_New(3);
    if (out == NULL)
        return NULL;
    for (int k = 0; k < 3; k++) {
        PyObject *one = hex_list_of(seqs[k], sort[k], drop[k]);
        if (one == NULL || one == Py_None) {
            Py_DECREF(out);
            return one;
        }
        PyTuple_SET_ITEM(out, k, one);
    }
    return out;
}

/* Values as decimal text joined by '-' (GREASE left out if asked) at out; its length. */
static Py_ssize_t put_dashed(char *out, const long *v, Py_ssize_t n, int skip)
{
    Py_ssize_t used = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (skip && is_grease(v[k]))
            continue;
        if (used)
            out[used++] = '-';
        used += put_decimal(out + used, (uint64_t)v[k]);
    }
    return used;
}

/* ja3_text(version, ciphers, extensions, groups, point_formats) -> the string JA3 hashes
 * ("771,4865-4866,0-23,29-23,0"; GREASE left out except from the point formats, as
 * fingerprints.ja3_string), or None when a value is outside 0..0xffff. */
PyObject *ja3_text(PyObject *self, PyObject *args)
{
    long version;
    PyObject *seqs[4];
    if (!PyArg_ParseTuple(args, "lOOOO", &version, &seqs[0], &seqs[1], &seqs[2], &seqs[3]))
        return NULL;
    if (version < 0 || version > 0xFFFF)
        return Py_NewRef(Py_None);
    long *v[4] = {NULL, NULL, NULL, NULL};
    Py_ssize_t n[4] = {0, 0, 0, 0}, total = 6;
    PyObject *out = NULL;
    for (int k = 0; k < 4; k++) {
        v[k] = small_values(seqs[k], &n[k]);
        if (v[k] == NULL) {
            if (!PyErr_Occurred())
                out = Py_NewRef(Py_None);
            goto done;
        }
        total += n[k] * 6 + 1;
    }
    char *text = PyMem_Malloc((size_t)total);
    if (text == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t used = put_decimal(text, (uint64_t)version);
    for (int k = 0; k < 4; k++) {
        text[used++] = ',';
        used += put_dashed(text + used, v[k], n[k], k < 3);
    }
    out = PyUnicode_FromStringAndSize(text, used);
    PyMem_Free(text);
done:
    for (int k = 0; k < 4; k++)
        PyMem_Free(v[k]);
    return out;
}
