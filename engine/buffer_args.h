/*
 * Array arguments of the compiled modules (tcp/_seqstats.c, tcp/_states.c, aggregate/_sums.c,
 * decode/_common.c), read through the buffer protocol (no numpy C API): each must be
 * C-contiguous, of one kind of item ('i' signed, 'u' unsigned, 'b' bool) and size, writable
 * when it is an output, and as long as the call needs; anything else is refused with a
 * ValueError naming the argument, never read past.
 */
#ifndef FLOWSCOPE_BUFFER_ARGS_H
#define FLOWSCOPE_BUFFER_ARGS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *name;
    char kind; /* 'i' signed, 'u' unsigned, 'b' bool */
    Py_ssize_t itemsize;
    int writable;
} Spec;

static int kind_of(const char *format)
{
    if (!format)
        return 'u'; /* plain bytes */
    if (*format == '@' || *format == '=' || *format == (PY_LITTLE_ENDIAN ? '<' : '>'))
        format++;
    if (!format[0] || format[1])
        return 0;
    if (strchr("bhilq", format[0]))
        return 'i';
    if (strchr("BHILQ", format[0]))
        return 'u';
    return format[0] == '?' ? 'b' : 0;
}

/* items < 0: any number of them */
static int take(PyObject *obj, const Spec *spec, Py_ssize_t items, Py_buffer *view)
{
    int how = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (spec->writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, how) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: expected a %scontiguous array", spec->name,
                     spec->writable ? "writable " : "");
        return 0;
    }
    if (kind_of(view->format) != spec->kind || view->itemsize != spec->itemsize ||
        (items >= 0 && view->len != items * spec->itemsize)) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items of %zd bytes (%s)", spec->name,
                     items, spec->itemsize,
                     spec->kind == 'i' ? "signed" : spec->kind == 'u' ? "unsigned" : "bool");
        PyBuffer_Release(view);
        view->obj = NULL;
        return 0;
    }
    return 1;
}

/* bounds (nconv + 1 row numbers) cut rows 0..n into consecutive conversations */
static int grouping(const int64_t *bounds, Py_ssize_t nconv, Py_ssize_t n)
{
    if (bounds[0] != 0 || bounds[nconv] != n)
        return 0;
    for (Py_ssize_t k = 0; k < nconv; k++)
        if (bounds[k] > bounds[k + 1])
            return 0;
    return 1;
}

static void release_all(Py_buffer *view, int nargs)
{
    for (int k = 0; k < nargs; k++)
        if (view[k].obj)
            PyBuffer_Release(&view[k]);
}

#endif
