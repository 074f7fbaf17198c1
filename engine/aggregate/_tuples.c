/*
 * The tuple index of the running conversation table, compiled: a hash table from a tuple's
 * direction-free key to its tuple number, kept across the chunks of one load.
 *
 * One call per chunk gives every row its tuple number (new tuples are numbered in order of
 * their first row), whether it goes the way of its tuple's key (the first sighting's
 * orientation), a group number (the chunk's tuples in order of first appearance) and the rows
 * grouped tuple by tuple in file order (a counting sort): what engine/aggregate/tuples.py
 * otherwise does with a sort of hashes, a dictionary and a stable argsort. Keys are compared
 * whole, so two tuples never merge, whatever their hashes. The GIL is released during the
 * work, so a GUI thread stays responsive while a big capture loads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEY_WORDS 7 /* what, src_hi, src_lo, sport, dst_hi, dst_lo, dport */
#define EMPTY (-1)

typedef struct {
    PyObject_HEAD
    uint64_t *keys;      /* KEY_WORDS per tuple, in its first row's orientation */
    uint64_t *hashes;    /* per tuple */
    int64_t *mark;       /* per tuple: the last call that saw it */
    int64_t *group_of;   /* per tuple: its group in that call */
    Py_ssize_t count;    /* tuples */
    Py_ssize_t room;     /* tuples the per-tuple arrays hold */
    int64_t *slots;      /* tuple number or EMPTY; a power of two in size */
    Py_ssize_t nslots;
    int64_t calls;
    int busy;            /* a call is running (with the GIL released) */
} TupleTable;

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 31);
}

static inline uint64_t endpoint_hash(uint64_t hi, uint64_t lo, uint64_t port)
{
    return mix(mix(mix(0x9E3779B97F4A7C15ULL, hi), lo), port);
}

static inline uint64_t tuple_hash(const uint64_t *k)
{
    uint64_t a = endpoint_hash(k[1], k[2], k[3]);
    uint64_t b = endpoint_hash(k[4], k[5], k[6]);
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t h = mix(mix(mix(0x94D049BB133111EBULL, k[0]), lo), hi);
    return (h ^ (h >> 29)) * 0x94D049BB133111EBULL;
}

/* 1: same tuple, row goes the key's way; 2: same tuple, the other way; 0: another tuple */
static inline int compare(const uint64_t *key, const uint64_t *row)
{
    if (key[0] != row[0])
        return 0;
    if (key[1] == row[1] && key[2] == row[2] && key[3] == row[3] && key[4] == row[4] &&
        key[5] == row[5] && key[6] == row[6])
        return 1;
    if (key[1] == row[4] && key[2] == row[5] && key[3] == row[6] && key[4] == row[1] &&
        key[5] == row[2] && key[6] == row[3])
        return 2;
    return 0;
}

static int grow_slots(TupleTable *t, Py_ssize_t need)
{
    Py_ssize_t n = t->nslots ? t->nslots : 1024;
    while (n < 2 * need)
        n *= 2;
    if (n == t->nslots)
        return 0;
    int64_t *slots = malloc((size_t)n * sizeof(int64_t));
    if (!slots)
        return -1;
    memset(slots, 0xFF, (size_t)n * sizeof(int64_t)); /* EMPTY everywhere */
    uint64_t mask = (uint64_t)n - 1;
    for (Py_ssize_t tid = 0; tid < t->count; tid++) {
        uint64_t s = t->hashes[tid] & mask;
        while (slots[s] != EMPTY)
            s = (s + 1) & mask;
        slots[s] = tid;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
    return 0;
}

static int grow_tuples(TupleTable *t, Py_ssize_t need)
{
    if (need <= t->room)
        return 0;
    Py_ssize_t room = t->room ? t->room : 1024;
    while (room < need)
        room *= 2;
    uint64_t *keys = realloc(t->keys, (size_t)room * KEY_WORDS * sizeof(uint64_t));
    if (!keys)
        return -1;
    t->keys = keys;
    uint64_t *hashes = realloc(t->hashes, (size_t)room * sizeof(uint64_t));
    if (!hashes)
        return -1;
    t->hashes = hashes;
    int64_t *mark = realloc(t->mark, (size_t)room * sizeof(int64_t));
    if (!mark)
        return -1;
    t->mark = mark;
    int64_t *group_of = realloc(t->group_of, (size_t)room * sizeof(int64_t));
    if (!group_of)
        return -1;
    t->group_of = group_of;
    t->room = room;
    return 0;
}

static int column(Py_buffer *b, Py_ssize_t n, Py_ssize_t itemsize, const char *what)
{
    if (b->len != n * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items of %zd bytes", what, n, itemsize);
        return 0;
    }
    return 1;
}

/* lookup(what, src_hi, src_lo, sport, dst_hi, dst_lo, dport, tid, forward, group, order)
 *     -> new tuples
 * Inputs: seven contiguous uint64 columns of n rows. Outputs (written): tid, group, order
 * (int64), forward (one byte each). */
static PyObject *lookup(TupleTable *self, PyObject *args)
{
    Py_buffer in[KEY_WORDS], out[4];
    int got_in = 0, got_out = 0;
    PyObject *result = NULL;
    memset(in, 0, sizeof(in));
    memset(out, 0, sizeof(out));
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*w*w*w*w*", &in[0], &in[1], &in[2], &in[3],
                          &in[4], &in[5], &in[6], &out[0], &out[1], &out[2], &out[3]))
        return NULL;
    got_in = KEY_WORDS;
    got_out = 4;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "the tuple table is in use by another thread");
        goto done;
    }
    Py_ssize_t n = in[0].len / (Py_ssize_t)sizeof(uint64_t);
    for (int k = 0; k < KEY_WORDS; k++)
        if (!column(&in[k], n, sizeof(uint64_t), "key column"))
            goto done;
    if (!column(&out[0], n, sizeof(int64_t), "tid") || !column(&out[1], n, 1, "forward") ||
        !column(&out[2], n, sizeof(int64_t), "group") ||
        !column(&out[3], n, sizeof(int64_t), "order"))
        goto done;
    /* room for every row being a new tuple, so nothing is allocated without the GIL */
    if (grow_tuples(self, self->count + n) < 0 || grow_slots(self, self->count + n) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t *start = malloc((size_t)(n + 1) * sizeof(int64_t));
    if (!start) {
        PyErr_NoMemory();
        goto done;
    }
    const uint64_t *col[KEY_WORDS];
    for (int k = 0; k < KEY_WORDS; k++)
        col[k] = (const uint64_t *)in[k].buf;
    int64_t *tid_out = out[0].buf, *group_out = out[2].buf, *order_out = out[3].buf;
    unsigned char *forward_out = out[1].buf;
    Py_ssize_t groups = 0, created = 0;
    self->busy = 1;
    int64_t call = ++self->calls;
    Py_BEGIN_ALLOW_THREADS
    uint64_t mask = (uint64_t)self->nslots - 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t row[KEY_WORDS];
        for (int k = 0; k < KEY_WORDS; k++)
            row[k] = col[k][i];
        uint64_t h = tuple_hash(row);
        uint64_t s = h & mask;
        int64_t tid;
        int way = 0;
        while ((tid = self->slots[s]) != EMPTY) {
            if (self->hashes[tid] == h && (way = compare(self->keys + tid * KEY_WORDS, row)))
                break;
            s = (s + 1) & mask;
        }
        if (tid == EMPTY) {
            tid = self->count++;
            memcpy(self->keys + tid * KEY_WORDS, row, sizeof(row));
            self->hashes[tid] = h;
            self->mark[tid] = 0;
            self->slots[s] = tid;
            created++;
            way = 1;
        }
        if (self->mark[tid] != call) {
            self->mark[tid] = call;
            self->group_of[tid] = groups++;
        }
        tid_out[i] = tid;
        forward_out[i] = way == 1;
        group_out[i] = self->group_of[tid];
    }
    /* rows tuple by tuple, file order inside: a counting sort by group */
    memset(start, 0, (size_t)(groups + 1) * sizeof(int64_t));
    for (Py_ssize_t i = 0; i < n; i++)
        start[group_out[i] + 1]++;
    for (Py_ssize_t g = 0; g < groups; g++)
        start[g + 1] += start[g];
    for (Py_ssize_t i = 0; i < n; i++)
        order_out[start[group_out[i]]++] = i;
    Py_END_ALLOW_THREADS
    self->busy = 0;
    free(start);
    result = PyLong_FromSsize_t(created);
done:
    for (int k = 0; k < got_in; k++)
        PyBuffer_Release(&in[k]);
    for (int k = 0; k < got_out; k++)
        PyBuffer_Release(&out[k]);
    return result;
}

/* clear(): forget every tuple, keeping the memory (the decoding process groups each chunk's
 * rows on its own with one table, cleared between chunks) */
static PyObject *table_clear(TupleTable *self, PyObject *Py_UNUSED(ignored))
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "the tuple table is in use by another thread");
        return NULL;
    }
    if (self->slots)
        memset(self->slots, 0xFF, (size_t)self->nslots * sizeof(int64_t)); /* EMPTY */
    self->count = 0;
    Py_RETURN_NONE;
}

static Py_ssize_t table_len(TupleTable *self)
{
    return self->count;
}

static void table_dealloc(TupleTable *self)
{
    free(self->keys);
    free(self->hashes);
    free(self->mark);
    free(self->group_of);
    free(self->slots);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *table_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) || (kwds && PyDict_GET_SIZE(kwds))) {
        PyErr_SetString(PyExc_TypeError, "TupleTable() takes no arguments");
        return NULL;
    }
    TupleTable *self = (TupleTable *)type->tp_alloc(type, 0);
    return (PyObject *)self; /* every field starts at zero / NULL */
}

static PyMethodDef table_methods[] = {
    {"lookup", (PyCFunction)lookup, METH_VARARGS,
     "lookup(7 key columns, tid, forward, group, order) -> tuples created"},
    {"clear", (PyCFunction)table_clear, METH_NOARGS, "clear(): forget every tuple"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods table_sequence = {
    .sq_length = (lenfunc)table_len,
};

static PyTypeObject TupleTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "engine.aggregate._tuples.TupleTable",
    .tp_basicsize = sizeof(TupleTable),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Tuples seen so far by one load: key -> tuple number (see lookup).",
    .tp_new = table_new,
    .tp_dealloc = (destructor)table_dealloc,
    .tp_methods = table_methods,
    .tp_as_sequence = &table_sequence,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_tuples",
    "The running conversation table's tuple index, compiled (see engine/aggregate/tuples.py).",
    -1, NULL,
};

PyMODINIT_FUNC PyInit__tuples(void)
{
    if (PyType_Ready(&TupleTableType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    Py_INCREF(&TupleTableType);
    if (PyModule_AddObject(m, "TupleTable", (PyObject *)&TupleTableType) < 0) {
        Py_DECREF(&TupleTableType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
