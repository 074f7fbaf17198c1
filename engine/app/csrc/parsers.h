/*
 * engine.app._parsers: compiled twins of the application layer's hottest byte walks (see
 * module.c). Shared helpers and the functions each part exports to the module table.
 */
#ifndef FLOWSCOPE_PARSERS_H
#define FLOWSCOPE_PARSERS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* outcomes of a walk: it held, the bytes ended first (the Python walk's Short), or Python
 * raised (memory) */
enum { OK = 0, SHORT = 1, FAIL = 2 };

static inline unsigned u16at(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static inline unsigned u24at(const unsigned char *p)
{
    return (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
}

/* module.c */
int append_int(PyObject *list, long value);
PyObject *u16_list(const unsigned char *p, Py_ssize_t n);
PyObject *utf8_or_bytes(const char *raw, Py_ssize_t len);

/* tls.c */
PyObject *tls_handshake(PyObject *self, PyObject *args);
PyObject *split_handshake(PyObject *self, PyObject *args);
PyObject *client_hello(PyObject *self, PyObject *args);
PyObject *server_hello(PyObject *self, PyObject *args);
PyObject *certificate_list(PyObject *self, PyObject *args);
PyObject *tls_hellos(PyObject *self, PyObject *args);
PyObject *tls_streams(PyObject *self, PyObject *args);

/* dns.c */
PyObject *dns_message(PyObject *self, PyObject *args);
PyObject *dns_summary(PyObject *self, PyObject *args);
PyObject *dns_summaries(PyObject *self, PyObject *args);
PyObject *answered_names(PyObject *self, PyObject *args);

/* x509.c */
PyObject *certificate_fields(PyObject *self, PyObject *args);

/* lists.c */
PyObject *decimal_list(PyObject *self, PyObject *args);
PyObject *hex_list(PyObject *self, PyObject *args);

#endif
