/*
 * engine.app._parsers: compiled twins of the application layer's hottest byte walks (see
 * module.c). Shared helpers and the functions each part exports to the module table.
 */
#ifndef FLOWSCOPE_PARSERS_H
#define FLOWSCOPE_PARSERS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* outcomes of a walk: it held, the bytes ended first (the Python walk's Short), or Python
 * raised (memory) */
enum { OK = 0, SHORT = 1, FAIL = 2 };

static inline unsigned u16at(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static inline unsigned u24at(const unsigned char *p)
{
    return (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
}

/* Number formatting without printf (whose locale and format parsing cost more than the walks
 * around them): each writes at out and returns the characters written. */
static inline int put_decimal(char *out, uint64_t v)
{
    char digits[20];
    int n = 0, k = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        out[k++] = digits[--n];
    return k;
}

/* at least ``width`` digits (zero-padded) */
static inline int put_decimal_width(char *out, unsigned v, int width)
{
    char digits[12];
    int n = 0, k = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        digits[n++] = '0';
    while (n)
        out[k++] = digits[--n];
    return k;
}

/* lower-case hex, at least ``width`` digits (zero-padded) */
static inline int put_hex(char *out, unsigned v, int width)
{
    static const char hex[] = "0123456789abcdef";
    char digits[8];
    int n = 0, k = 0;
    do {
        digits[n++] = hex[v & 15];
        v >>= 4;
    } while (v);
    while (n < width)
        digits[n++] = '0';
    while (n)
        out[k++] = digits[--n];
    return k;
}

/* "a.b.c.d" */
static inline int put_ipv4(char *out, const unsigned char *p)
{
    int n = 0;
    for (int k = 0; k < 4; k++) {
        if (k)
            out[n++] = '.';
        n += put_decimal(out + n, p[k]);
    }
    return n;
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
PyObject *ja4(PyObject *self, PyObject *args);
PyObject *ja3_text(PyObject *self, PyObject *args);
PyObject *ja3s_md5(PyObject *self, PyObject *args);

/* digest.c */
PyObject *digest_hex(PyObject *self, PyObject *args);
void md5_hex(const unsigned char *data, size_t n, char out[32]);
void sha256_hex(const unsigned char *data, size_t n, char out[64]);

#endif
