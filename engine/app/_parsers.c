/*
 * Compiled twins of the application layer's hottest byte walks: the TLS record layer and
 * hellos, the certificate list and names, DNS messages, and the number lists JA3 and JA4 hash.
 * At load every identified conversation passes through some of them, and in Python each costs
 * tens of microseconds of index arithmetic and number formatting.
 *
 * Each function here has a pure-Python reference in engine/app (tls.py, dns.py, x509.py,
 * fingerprints.py) that gives the same answer for every input, including cut-short and hostile
 * bytes; tests run both over the truth set and over random and damaged messages
 * (tests/engine/test_app_compiled.py). Text that is not valid UTF-8 (names, SNI, ALPN) is
 * returned as bytes, for the Python side's lenient decoding (Wireshark's way with damaged
 * text). Nothing is read outside the given buffers and nothing is allocated from a length a
 * message claims: every output is bounded by the input's size.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* -- helpers ------------------------------------------------------------------------------ */

static inline unsigned u16at(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static inline unsigned u24at(const unsigned char *p)
{
    return (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
}

/* Append an int to a list; 0 on failure (exception set). */
static int append_int(PyObject *list, long value)
{
    PyObject *v = PyLong_FromLong(value);
    if (v == NULL)
        return 0;
    int rc = PyList_Append(list, v);
    Py_DECREF(v);
    return rc == 0;
}

/* A list of the n big-endian 16-bit values at p. */
static PyObject *u16_list(const unsigned char *p, Py_ssize_t n)
{
    PyObject *list = PyList_New(n);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *v = PyLong_FromLong((long)u16at(p + 2 * k));
        if (v == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, k, v);
    }
    return list;
}

/* Wire bytes as text when they are valid UTF-8 (what wire.text gives them), else the bytes, for
 * Python's lenient decoding (wire.text: each damaged sequence one U+FFFD, as Wireshark). */
static PyObject *utf8_or_bytes(const char *raw, Py_ssize_t len)
{
    PyObject *text = PyUnicode_DecodeUTF8(raw, len, NULL);
    if (text != NULL || !PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
        return text;
    PyErr_Clear();
    return PyBytes_FromStringAndSize(raw, len);
}

/* -- TLS ---------------------------------------------------------------------------------- */

#define HANDSHAKE 22
#define MAX_RECORD ((1 << 14) + 2048)
#define MAX_MESSAGE (1 << 17)

static inline int record_type(unsigned t) { return t >= 20 && t <= 24; }

/* Handshake messages of joined handshake bytes into ``messages`` (a list); *wants set when the
 * bytes end inside a message. 0 on failure. Mirrors tls._split_messages. */
static int split_messages(const unsigned char *b, Py_ssize_t n, PyObject *messages, int *wants)
{
    Py_ssize_t pos = 0;
    while (pos + 4 <= n) {
        unsigned kind = b[pos];
        Py_ssize_t length = (Py_ssize_t)u24at(b + pos + 1);
        if (length > MAX_MESSAGE)
            return 1;
        if (pos + 4 + length > n) {
            *wants = 1;
            return 1;
        }
        PyObject *item = Py_BuildValue("(Iy#)", kind, (const char *)b + pos + 4, length);
        if (item == NULL)
            return 0;
        int rc = PyList_Append(messages, item);
        Py_DECREF(item);
        if (rc < 0)
            return 0;
        pos += 4 + length;
    }
    if (pos < n)
        *wants = 1;
    return 1;
}

/* tls_handshake(data) -> (messages, wants_more, ended): see tls.tls_handshake. */
static PyObject *tls_handshake(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf))
        return NULL;
    const unsigned char *d = (const unsigned char *)buf.buf;
    Py_ssize_t size = buf.len, pos = 0, used = 0;
    int wants = 0, ended = 0, broke = 0;
    unsigned char *joined = PyMem_Malloc(size > 0 ? (size_t)size : 1);
    PyObject *messages = PyList_New(0);
    PyObject *out = NULL;
    if (joined == NULL || messages == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    while (pos + 5 <= size) {
        unsigned ctype = d[pos], major = d[pos + 1];
        Py_ssize_t length = (Py_ssize_t)u16at(d + pos + 3);
        if (!record_type(ctype) || major != 3 || length > MAX_RECORD) {
            broke = 1;
            break;
        }
        if (ctype != HANDSHAKE) {
            ended = 1;
            broke = 1;
            break;
        }
        Py_ssize_t end = pos + 5 + length;
        Py_ssize_t stop = end < size ? end : size;
        memcpy(joined + used, d + pos + 5, (size_t)(stop - pos - 5));
        used += stop - pos - 5;
        if (end > size)
            wants = 1;
        pos = end;
    }
    if (!broke && (pos < size || size == 0))
        wants = 1;
    if (!split_messages(joined, used, messages, &wants))
        goto done;
    out = Py_BuildValue("(ONN)", messages, PyBool_FromLong(wants), PyBool_FromLong(ended));
done:
    Py_XDECREF(messages);
    PyMem_Free(joined);
    PyBuffer_Release(&buf);
    return out;
}

/* split_messages(data) -> (messages, wants_more): a QUIC CRYPTO stream's handshake messages. */
static PyObject *split_handshake(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf))
        return NULL;
    int wants = 0;
    PyObject *out = NULL, *messages = PyList_New(0);
    if (messages != NULL && split_messages(buf.buf, buf.len, messages, &wants))
        out = Py_BuildValue("(ON)", messages, PyBool_FromLong(wants));
    Py_XDECREF(messages);
    PyBuffer_Release(&buf);
    return out;
}

/* The fields of a ClientHello while it is read. */
typedef struct {
    PyObject *extensions, *alpn, *groups, *points, *sigs, *versions;
    Py_ssize_t sni_at, sni_len; /* sni_at < 0: none */
} Hello;

enum { OK = 0, SHORT = 1, FAIL = 2 };

/* A vector of 16-bit values with a 1- or 2-byte length at pos (tls._u16_vector); indices are
 * checked against the whole body, as the Python reference's are. */
static int u16_vector(const unsigned char *b, Py_ssize_t size, Py_ssize_t pos, Py_ssize_t end,
                      int size_bytes, PyObject **slot)
{
    if (pos + size_bytes > size)
        return SHORT;
    Py_ssize_t length = size_bytes == 1 ? b[pos] : (Py_ssize_t)u16at(b + pos);
    pos += size_bytes;
    if (pos + length > end)
        return SHORT;
    PyObject *list = u16_list(b + pos, length >= 2 ? length / 2 : 0);
    if (list == NULL)
        return FAIL;
    Py_XSETREF(*slot, list);
    return OK;
}

/* tls._client_extension */
static int client_extension(Hello *h, unsigned kind, const unsigned char *b, Py_ssize_t size,
                            Py_ssize_t pos, Py_ssize_t end)
{
    if (kind == 0 || kind == 16) {
        if (pos + 2 > size)
            return SHORT;
        Py_ssize_t stop = pos + 2 + (Py_ssize_t)u16at(b + pos);
        if (stop > end)
            stop = end;
        pos += 2;
        if (kind == 0) {
            while (pos + 3 <= stop) {
                Py_ssize_t n = (Py_ssize_t)u16at(b + pos + 1);
                if (b[pos] == 0 && h->sni_at < 0) {
                    if (pos + 3 + n > stop)
                        return SHORT;
                    h->sni_at = pos + 3;
                    h->sni_len = n;
                }
                pos += 3 + n;
            }
        } else {
            while (pos < stop) {
                Py_ssize_t n = b[pos];
                if (pos + 1 + n > stop)
                    return SHORT;
                PyObject *name = utf8_or_bytes((const char *)b + pos + 1, n);
                if (name == NULL)
                    return FAIL;
                int rc = PyList_Append(h->alpn, name);
                Py_DECREF(name);
                if (rc < 0)
                    return FAIL;
                pos += 1 + n;
            }
        }
        return OK;
    }
    if (kind == 10)
        return u16_vector(b, size, pos, end, 2, &h->groups);
    if (kind == 13)
        return u16_vector(b, size, pos, end, 2, &h->sigs);
    if (kind == 43)
        return u16_vector(b, size, pos, end, 1, &h->versions);
    /* kind == 11: ec_point_formats, one byte each */
    if (pos + 1 + b[pos] > end)
        return SHORT;
    PyObject *list = PyList_New(b[pos]);
    if (list == NULL)
        return FAIL;
    for (Py_ssize_t k = 0; k < b[pos]; k++) {
        PyObject *v = PyLong_FromLong(b[pos + 1 + k]);
        if (v == NULL) {
            Py_DECREF(list);
            return FAIL;
        }
        PyList_SET_ITEM(list, k, v);
    }
    Py_XSETREF(h->points, list);
    return OK;
}

/* The ClientHello walk (tls.parse_client_hello); OK with *version and *ciphers set. */
static int client_hello_walk(const unsigned char *b, Py_ssize_t size, int dtls, Hello *h,
                             PyObject **ciphers)
{
    Py_ssize_t pos = 34;
    if (pos >= size)
        return SHORT;
    pos += 1 + b[pos]; /* session id */
    if (dtls) {
        if (pos >= size)
            return SHORT;
        pos += 1 + b[pos]; /* cookie */
    }
    if (pos + 2 > size)
        return SHORT;
    Py_ssize_t count = (Py_ssize_t)u16at(b + pos);
    pos += 2;
    if (pos + count > size)
        return SHORT;
    *ciphers = u16_list(b + pos, count >= 2 ? count / 2 : 0);
    if (*ciphers == NULL)
        return FAIL;
    pos += count;
    if (pos >= size)
        return SHORT;
    pos += 1 + b[pos]; /* compression methods */
    if (pos + 2 <= size) {
        Py_ssize_t end = pos + 2 + (Py_ssize_t)u16at(b + pos);
        if (end > size)
            return SHORT;
        pos += 2;
        while (pos < end) {
            if (pos + 4 > end)
                return SHORT;
            unsigned kind = u16at(b + pos);
            Py_ssize_t length = (Py_ssize_t)u16at(b + pos + 2);
            pos += 4;
            if (pos + length > end)
                return SHORT;
            if (!append_int(h->extensions, (long)kind))
                return FAIL;
            if ((kind == 0 || kind == 10 || kind == 11 || kind == 13 || kind == 16 || kind == 43)
                && length) {
                int rc = client_extension(h, kind, b, size, pos, pos + length);
                if (rc != OK)
                    return rc;
            }
            pos += length;
        }
    } else if (pos > size) {
        return SHORT;
    }
    return OK;
}

/* client_hello(body, dtls) -> None or (version, ciphers, extensions, sni bytes or None, alpn
 * list of bytes, groups, point formats, signature algorithms, supported versions). */
static PyObject *client_hello(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    int dtls = 0;
    if (!PyArg_ParseTuple(args, "y*|p", &buf, &dtls))
        return NULL;
    const unsigned char *b = (const unsigned char *)buf.buf;
    Hello h = {PyList_New(0), PyList_New(0), PyList_New(0), PyList_New(0), PyList_New(0),
               PyList_New(0), -1, 0};
    PyObject *ciphers = NULL, *out = NULL;
    int rc = FAIL;
    if (h.extensions && h.alpn && h.groups && h.points && h.sigs && h.versions)
        rc = client_hello_walk(b, buf.len, dtls, &h, &ciphers);
    if (rc == SHORT) {
        out = Py_NewRef(Py_None);
    } else if (rc == OK) {
        PyObject *sni = h.sni_at < 0 ? Py_NewRef(Py_None)
                                     : utf8_or_bytes((const char *)b + h.sni_at, h.sni_len);
        if (sni != NULL)
            out = Py_BuildValue("(lOONOOOOO)", (long)u16at(b), ciphers, h.extensions, sni,
                                h.alpn, h.groups, h.points, h.sigs, h.versions);
    }
    Py_XDECREF(ciphers);
    Py_XDECREF(h.extensions);
    Py_XDECREF(h.alpn);
    Py_XDECREF(h.groups);
    Py_XDECREF(h.points);
    Py_XDECREF(h.sigs);
    Py_XDECREF(h.versions);
    PyBuffer_Release(&buf);
    return out;
}

/* server_hello(body) -> None or (version, cipher, extensions, selected version or None, alpn
 * bytes or None): see tls.parse_server_hello. */
static PyObject *server_hello(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf))
        return NULL;
    const unsigned char *b = (const unsigned char *)buf.buf;
    Py_ssize_t size = buf.len, pos = 0;
    long selected = -1;
    Py_ssize_t alpn_at = -1, alpn_len = 0;
    PyObject *extensions = NULL, *out = NULL;
    int rc = SHORT;
    if (size < 2 + 32)
        goto finish;
    unsigned version = u16at(b);
    pos = 34;
    if ((version & 0xFF00) != 0x7F00) {
        if (pos + 1 > size)
            goto finish;
        pos += 1 + b[pos];
        if (pos > size)
            goto finish;
    }
    if (pos + 3 > size)
        goto finish;
    unsigned cipher = u16at(b + pos);
    pos += 3;
    extensions = PyList_New(0);
    if (extensions == NULL) {
        rc = FAIL;
        goto finish;
    }
    if (size - pos >= 2) {
        Py_ssize_t end = pos + 2 + (Py_ssize_t)u16at(b + pos);
        pos += 2;
        if (end > size)
            goto finish;
        while (pos < end) {
            if (pos + 2 > end)
                goto finish;
            unsigned kind = u16at(b + pos);
            if (pos + 4 > end)
                goto finish;
            Py_ssize_t length = (Py_ssize_t)u16at(b + pos + 2);
            Py_ssize_t start = pos + 4, stop = start + length;
            if (stop > end)
                goto finish;
            pos = stop;
            if (!append_int(extensions, (long)kind)) {
                rc = FAIL;
                goto finish;
            }
            if (kind == 43 && length >= 2) {
                selected = (long)u16at(b + start);
            } else if (kind == 16 && length >= 3) {
                Py_ssize_t list_end = start + 2 + (Py_ssize_t)u16at(b + start);
                if (list_end > stop)
                    goto finish;
                if (start + 2 >= list_end)
                    goto finish;
                Py_ssize_t n = b[start + 2];
                if (start + 3 + n > list_end)
                    goto finish;
                alpn_at = start + 3;
                alpn_len = n;
            }
        }
    }
    rc = OK;
    PyObject *sel = selected < 0 ? Py_NewRef(Py_None) : PyLong_FromLong(selected);
    PyObject *alpn = alpn_at < 0 ? Py_NewRef(Py_None)
                                 : utf8_or_bytes((const char *)b + alpn_at, alpn_len);
    if (sel != NULL && alpn != NULL)
        out = Py_BuildValue("(IIONN)", version, cipher, extensions, sel, alpn);
    else {
        Py_XDECREF(sel);
        Py_XDECREF(alpn);
    }
finish:
    if (rc == SHORT)
        out = Py_NewRef(Py_None);
    Py_XDECREF(extensions);
    PyBuffer_Release(&buf);
    return out;
}

/* certificate_list(body) -> list of DER certificates (tls.certificate_list). */
static PyObject *certificate_list(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf))
        return NULL;
    const unsigned char *b = (const unsigned char *)buf.buf;
    PyObject *out = PyList_New(0);
    if (out != NULL && buf.len >= 3) {
        Py_ssize_t end = 3 + (Py_ssize_t)u24at(b), pos = 3;
        if (end <= buf.len) {
            while (pos < end) {
                if (pos + 3 > end)
                    break;
                Py_ssize_t n = (Py_ssize_t)u24at(b + pos);
                if (pos + 3 + n > end)
                    break;
                PyObject *der = PyBytes_FromStringAndSize((const char *)b + pos + 3, n);
                if (der == NULL || PyList_Append(out, der) < 0) {
                    Py_XDECREF(der);
                    Py_CLEAR(out);
                    break;
                }
                Py_DECREF(der);
                pos += 3 + n;
            }
        }
    }
    PyBuffer_Release(&buf);
    return out;
}

/* -- DNS ---------------------------------------------------------------------------------- */

#define MAX_RECORDS 512
#define MAX_JUMPS 64
#define MAX_LABELS 128
/* 128 labels of at most 63 bytes, joined by dots */
#define NAME_ROOM (MAX_LABELS * 64)

/* A name at *pos (dns._raw_name): its labels joined by dots into out (NAME_ROOM bytes), its
 * length in *len; *pos moves past it. ``end`` bounds where the name may end (its labels may be
 * anywhere in the message, as compression pointers allow). SHORT when it does not hold. */
static int raw_name(const unsigned char *d, Py_ssize_t size, Py_ssize_t *at, Py_ssize_t end,
                    char *out, Py_ssize_t *len)
{
    Py_ssize_t pos = *at, end_after = -1, n = 0;
    int jumps = 0, labels = 0;
    for (;;) {
        if (pos >= size)
            return SHORT;
        unsigned length = d[pos];
        if (length >= 0xC0) {
            if (pos + 1 >= size || jumps >= MAX_JUMPS)
                return SHORT;
            if (end_after < 0)
                end_after = pos + 2;
            pos = (Py_ssize_t)((length & 0x3F) << 8 | d[pos + 1]);
            jumps++;
            continue;
        }
        if (length >= 0x40)
            return SHORT;
        if (length == 0) {
            pos++;
            break;
        }
        Py_ssize_t stop = pos + 1 + length;
        if (stop > size || labels > MAX_LABELS - 1)
            return SHORT;
        if (labels)
            out[n++] = '.';
        memcpy(out + n, d + pos + 1, length);
        n += length;
        labels++;
        pos = stop;
    }
    if (end_after < 0)
        end_after = pos;
    if (end_after > end)
        return SHORT;
    *at = end_after;
    *len = n;
    return OK;
}

/* RFC 5952 text of an IPv6 address, as Python's ipaddress writes it (the longest run of two or
 * more zero groups, the first of equal runs, becomes "::"). */
static int ipv6_text(const unsigned char *p, char *out)
{
    unsigned groups[8];
    int best = -1, best_len = 0, run = -1, run_len = 0, n = 0;
    for (int k = 0; k < 8; k++) {
        groups[k] = u16at(p + 2 * k);
        if (groups[k] == 0) {
            if (run < 0)
                run = k;
            run_len++;
            if (run_len > best_len) {
                best_len = run_len;
                best = run;
            }
        } else {
            run = -1;
            run_len = 0;
        }
    }
    if (best_len < 2)
        best = -1;
    for (int k = 0; k < 8; k++) {
        if (k == best) {
            n += sprintf(out + n, "::");
            k += best_len - 1;
            continue;
        }
        n += sprintf(out + n, (k == 0 || k == best + best_len) ? "%x" : ":%x", groups[k]);
    }
    return n;
}

static PyObject *address_text(const unsigned char *p, Py_ssize_t size)
{
    char text[48];
    int n;
    if (size == 4)
        n = sprintf(text, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    else
        n = ipv6_text(p, text);
    return PyUnicode_FromStringAndSize(text, n);
}

/* A name as dns._name shows it: "<Root>" for the root, else its text, or its bytes when they
 * are not valid UTF-8 (decoded leniently by the Python side). */
static PyObject *name_object(const char *raw, Py_ssize_t len)
{
    if (len == 0)
        return PyUnicode_FromString("<Root>");
    return utf8_or_bytes(raw, len);
}

static PyObject *name_value(const unsigned char *d, Py_ssize_t size, Py_ssize_t *at,
                            Py_ssize_t end, char *room, int *rc)
{
    Py_ssize_t len;
    *rc = raw_name(d, size, at, end, room, &len);
    if (*rc != OK)
        return NULL;
    PyObject *name = name_object(room, len);
    if (name == NULL)
        *rc = FAIL;
    return name;
}

/* One resource record (dns._record) appended to ``section`` as (name, type, value): value is
 * the address text for A/AAAA, the target name for NS/CNAME/PTR, else None; names as
 * name_object gives them. */
static int dns_record(const unsigned char *d, Py_ssize_t size, Py_ssize_t *pos, char *room,
                      PyObject *section)
{
    int rc;
    PyObject *name = name_value(d, size, pos, size, room, &rc), *value = NULL;
    if (name == NULL)
        return rc;
    rc = SHORT;
    if (*pos + 10 > size)
        goto fail;
    unsigned rtype = u16at(d + *pos);
    Py_ssize_t rsize = (Py_ssize_t)u16at(d + *pos + 8);
    Py_ssize_t start = *pos + 10;
    *pos = start + rsize;
    if (*pos > size)
        goto fail;
    if ((rtype == 1 && rsize == 4) || (rtype == 28 && rsize == 16)) {
        value = address_text(d + start, rsize);
    } else if (rtype == 2 || rtype == 5 || rtype == 12) {
        Py_ssize_t at = start;
        value = name_value(d, size, &at, start + rsize, room, &rc);
        if (value == NULL)
            goto fail;
    } else {
        value = Py_NewRef(Py_None);
    }
    rc = FAIL;
    if (value == NULL)
        goto fail;
    PyObject *item = Py_BuildValue("(NIN)", name, rtype, value);
    if (item == NULL)
        return FAIL;
    int appended = PyList_Append(section, item);
    Py_DECREF(item);
    return appended < 0 ? FAIL : OK;
fail:
    Py_DECREF(name);
    return rc;
}

/* dns_message(data, records) -> None or (id, response, opcode, rcode, counts, questions,
 * answers, authority, additional): dns.parse_message, names as name_object gives them. */
static PyObject *dns_message(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    int records = 1;
    if (!PyArg_ParseTuple(args, "y*|p", &buf, &records))
        return NULL;
    const unsigned char *d = (const unsigned char *)buf.buf;
    Py_ssize_t size = buf.len, pos = 12;
    PyObject *out = NULL, *sections[4] = {NULL, NULL, NULL, NULL};
    char *room = NULL;
    unsigned counts[4];
    if (size < 12) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    unsigned max = 0;
    for (int k = 0; k < 4; k++) {
        counts[k] = u16at(d + 4 + 2 * k);
        if (counts[k] > max)
            max = counts[k];
    }
    if (max > MAX_RECORDS) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    room = PyMem_Malloc(NAME_ROOM);
    for (int k = 0; k < 4; k++)
        sections[k] = PyList_New(0);
    if (room == NULL || !sections[0] || !sections[1] || !sections[2] || !sections[3]) {
        PyErr_NoMemory();
        goto done;
    }
    int rc = OK;
    for (unsigned q = 0; q < counts[0] && rc == OK; q++) {
        PyObject *name = name_value(d, size, &pos, size, room, &rc);
        if (name == NULL)
            break;
        if (pos + 4 > size) {
            Py_DECREF(name);
            rc = SHORT;
            break;
        }
        PyObject *item = Py_BuildValue("(NI)", name, u16at(d + pos));
        pos += 4;
        if (item == NULL || PyList_Append(sections[0], item) < 0)
            rc = FAIL;
        Py_XDECREF(item);
    }
    if (rc == OK && records) {
        for (int s = 1; s < 4 && rc == OK; s++)
            for (unsigned k = 0; k < counts[s] && rc == OK; k++)
                rc = dns_record(d, size, &pos, room, sections[s]);
    }
    if (rc == FAIL)
        goto done;
    if (rc == SHORT && PyList_GET_SIZE(sections[0]) == 0 && counts[0]) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    unsigned flags = u16at(d + 2);
    out = Py_BuildValue("(INII(IIII)OOOO)", u16at(d), PyBool_FromLong(flags & 0x8000),
                        (flags >> 11) & 0xF, flags & 0xF, counts[0], counts[1], counts[2],
                        counts[3], sections[0], sections[1], sections[2], sections[3]);
done:
    for (int k = 0; k < 4; k++)
        Py_XDECREF(sections[k]);
    PyMem_Free(room);
    PyBuffer_Release(&buf);
    return out;
}

/* The names and addresses of one message that answer_names needs, all offsets into a scratch
 * arena; a message with more of them than this is left to the Python reference. */
#define SMALL 64

typedef struct {
    Py_ssize_t at, len; /* in the arena */
} Name;

typedef struct {
    char *arena;
    Py_ssize_t used, room;
    Name questions[SMALL], cname_owner[SMALL], cname_target[SMALL], owners[SMALL];
    char addresses[SMALL][48];
    int address_len[SMALL];
    int n_questions, n_cnames, n_addresses;
} Answers;

static int keep_name(Answers *a, const unsigned char *d, Py_ssize_t size, Py_ssize_t *pos,
                     Py_ssize_t end, Name *slot)
{
    Py_ssize_t len;
    if (a->room - a->used < NAME_ROOM)
        return FAIL; /* cannot happen within SMALL names; the caller falls back to Python */
    int rc = raw_name(d, size, pos, end, a->arena + a->used, &len);
    if (rc != OK)
        return rc;
    slot->at = a->used;
    slot->len = len;
    a->used += len;
    return OK;
}

static int same_key(const Answers *a, Name x, Name y)
{
    if (x.len != y.len)
        return 0;
    const unsigned char *p = (const unsigned char *)a->arena + x.at;
    const unsigned char *q = (const unsigned char *)a->arena + y.at;
    for (Py_ssize_t k = 0; k < x.len; k++) {
        unsigned c = p[k], e = q[k];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        if (e >= 'A' && e <= 'Z')
            e += 32;
        if (c != e)
            return 0;
    }
    return 1;
}

enum { ANSWERS_NONE = 0, ANSWERS_SOME = 1, ANSWERS_PYTHON = 3 };

/* The walk of dns.answered_addresses over one message into *a. */
static int walk_answers(const unsigned char *d, Py_ssize_t size, int multicast, Answers *a)
{
    if (size < 12)
        return ANSWERS_NONE;
    unsigned counts[4];
    for (int k = 0; k < 4; k++) {
        counts[k] = u16at(d + 4 + 2 * k);
        if (counts[k] > MAX_RECORDS)
            return ANSWERS_NONE;
    }
    unsigned sections = counts[1] + (multicast ? counts[2] + counts[3] : 0);
    if (counts[0] > SMALL || sections > SMALL)
        return ANSWERS_PYTHON;
    Py_ssize_t pos = 12;
    int asks_address = counts[0] == 0 || multicast;
    for (unsigned q = 0; q < counts[0]; q++) {
        int rc = keep_name(a, d, size, &pos, size, &a->questions[a->n_questions]);
        if (rc == FAIL)
            return ANSWERS_PYTHON;
        if (rc != OK || pos + 4 > size)
            return ANSWERS_NONE;
        a->n_questions++;
        unsigned qtype = u16at(d + pos);
        asks_address |= qtype == 1 || qtype == 28 || qtype == 255;
        pos += 4;
    }
    if (!asks_address)
        return ANSWERS_NONE;
    for (unsigned k = 0; k < sections; k++) {
        Name owner;
        int rc = keep_name(a, d, size, &pos, size, &owner);
        if (rc == FAIL)
            return ANSWERS_PYTHON;
        if (rc != OK || pos + 10 > size)
            break;
        unsigned rtype = u16at(d + pos);
        Py_ssize_t rsize = (Py_ssize_t)u16at(d + pos + 8), start = pos + 10;
        pos = start + rsize;
        if (pos > size)
            break;
        int authority = counts[1] <= k && k < counts[1] + counts[2];
        if (rtype == 5 && k < counts[1]) {
            Py_ssize_t at = start;
            Name target;
            rc = keep_name(a, d, size, &at, start + rsize, &target);
            if (rc == FAIL)
                return ANSWERS_PYTHON;
            if (rc != OK)
                break;
            a->cname_owner[a->n_cnames] = owner;
            a->cname_target[a->n_cnames++] = target;
        } else if (((rtype == 1 && rsize == 4) || (rtype == 28 && rsize == 16)) && !authority) {
            int n = a->n_addresses++;
            a->owners[n] = owner;
            a->address_len[n] = rsize == 4
                ? sprintf(a->addresses[n], "%u.%u.%u.%u", d[start], d[start + 1], d[start + 2],
                          d[start + 3])
                : ipv6_text(d + start, a->addresses[n]);
        }
    }
    return a->n_addresses ? ANSWERS_SOME : ANSWERS_NONE;
}

/* Append (index, address, name) for each name the address answers (the question that
 * led to it through CNAMEs, else the record's owner): the chase of dns.answered_addresses, with
 * its order (a stack of names still to look at, the last question of a spelling winning). */
static int chase(Answers *a, Py_ssize_t index, PyObject *out)
{
    /* names to visit and seen: at most one per CNAME owner plus the start */
    Name todo[SMALL + 1], seen[SMALL + 1];
    for (int n = 0; n < a->n_addresses; n++) {
        int n_todo = 1, n_seen = 0, found = 0;
        todo[0] = a->owners[n];
        while (n_todo) {
            Name name = todo[--n_todo];
            int dup = 0;
            for (int s = 0; s < n_seen && !dup; s++)
                dup = same_key(a, seen[s], name);
            if (dup)
                continue;
            seen[n_seen++] = name;
            int asked = -1;
            for (int q = a->n_questions - 1; q >= 0 && asked < 0; q--)
                if (same_key(a, a->questions[q], name))
                    asked = q;
            Name emit = name;
            if (asked >= 0) {
                emit = a->questions[asked];
                found++;
            } else {
                for (int c = 0; c < a->n_cnames; c++)
                    if (same_key(a, a->cname_target[c], name))
                        todo[n_todo++] = a->cname_owner[c];
                continue;
            }
            PyObject *item = Py_BuildValue("(ns#N)", index, a->addresses[n],
                                           (Py_ssize_t)a->address_len[n],
                                           name_object(a->arena + emit.at, emit.len));
            if (item == NULL || PyList_Append(out, item) < 0) {
                Py_XDECREF(item);
                return 0;
            }
            Py_DECREF(item);
        }
        if (!found) {
            Name owner = a->owners[n];
            PyObject *item = Py_BuildValue("(ns#N)", index, a->addresses[n],
                                           (Py_ssize_t)a->address_len[n],
                                           name_object(a->arena + owner.at, owner.len));
            if (item == NULL || PyList_Append(out, item) < 0) {
                Py_XDECREF(item);
                return 0;
            }
            Py_DECREF(item);
        }
    }
    return 1;
}

/* answered_names(buffer, starts, sizes, multicast) -> (answers, left): for each message
 * buffer[starts[k] : starts[k] + sizes[k]] (int64 arrays; multicast: a bool array), the
 * (k, address, name) pairs of dns.answered_addresses (names as name_object gives them), and the indices k of messages too
 * large for this walk (their answers are left to the Python reference). */
static PyObject *answered_names(PyObject *self, PyObject *args)
{
    Py_buffer buf, starts, sizes, multicast;
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &buf, &starts, &sizes, &multicast))
        return NULL;
    PyObject *out = NULL, *answers = PyList_New(0), *left = PyList_New(0);
    Py_ssize_t count = starts.len / (Py_ssize_t)sizeof(int64_t);
    /* questions, CNAME owners and targets, address owners: at most 4 * SMALL names */
    Py_ssize_t room = (Py_ssize_t)(4 * SMALL + 1) * NAME_ROOM;
    Answers *a = PyMem_Malloc(sizeof(Answers));
    char *arena = PyMem_Malloc((size_t)room);
    if (answers == NULL || left == NULL || a == NULL || arena == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (sizes.len != starts.len || multicast.len != count) {
        PyErr_SetString(PyExc_ValueError, "starts, sizes and multicast differ in length");
        goto done;
    }
    const int64_t *s = starts.buf, *z = sizes.buf;
    const unsigned char *m = multicast.buf;
    for (Py_ssize_t k = 0; k < count; k++) {
        if (s[k] < 0 || z[k] < 0 || s[k] > buf.len || z[k] > buf.len - s[k]) {
            PyErr_SetString(PyExc_ValueError, "message outside the buffer");
            goto done;
        }
        a->arena = arena;
        a->room = room;
        a->used = 0;
        a->n_questions = a->n_cnames = a->n_addresses = 0;
        int found = walk_answers((const unsigned char *)buf.buf + s[k], (Py_ssize_t)z[k],
                                 m[k] != 0, a);
        if (found == ANSWERS_PYTHON) {
            if (!append_int(left, (long)k))
                goto done;
        } else if (found == ANSWERS_SOME && !chase(a, k, answers)) {
            goto done;
        }
    }
    out = Py_BuildValue("(OO)", answers, left);
done:
    Py_XDECREF(answers);
    Py_XDECREF(left);
    PyMem_Free(a);
    PyMem_Free(arena);
    PyBuffer_Release(&buf);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&sizes);
    PyBuffer_Release(&multicast);
    return out;
}

/* -- X.509 names (x509.certificate_names) ---------------------------------------------------- */

/* A DER element at pos (x509._element): 0 when it does not hold together. */
static int der_element(const unsigned char *d, Py_ssize_t pos, Py_ssize_t end, unsigned *tag,
                       Py_ssize_t *start, Py_ssize_t *stop)
{
    if (pos + 2 > end)
        return 0;
    unsigned length = d[pos + 1];
    *tag = d[pos];
    pos += 2;
    if (length & 0x80) {
        unsigned count = length & 0x7F;
        if (count < 1 || count > 4 || pos + (Py_ssize_t)count > end)
            return 0;
        uint64_t value = 0;
        for (unsigned k = 0; k < count; k++)
            value = value << 8 | d[pos + k];
        pos += count;
        if (value > (uint64_t)(end - pos))
            return 0;
        length = (unsigned)value;
    }
    if ((*tag & 0x1F) == 0x1F || pos + (Py_ssize_t)length > end)
        return 0;
    *start = pos;
    *stop = pos + length;
    return 1;
}

enum { DER_OK = 0, DER_BAD = 1, DER_PYTHON = 2, DER_ERROR = 3 };

/* An OID's short name (x509._oid_name): its dotted text looked up in ``names``. DER_PYTHON for
 * an arc past 64 bits (the Python side's integers take those). */
static int oid_name(const unsigned char *raw, Py_ssize_t n, PyObject *names, PyObject **out)
{
    char text[2048]; /* 200 bytes of arcs make at most ~830 characters */
    Py_ssize_t used = 0;
    if (n == 0) {
        *out = PyUnicode_FromString("");
    } else {
        if (n > 200)
            return DER_PYTHON; /* never a real attribute type; Python formats it */
        unsigned top = raw[0] / 40 < 2 ? raw[0] / 40 : 2;
        used = sprintf(text, "%u.%u", top, raw[0] - 40 * top);
        uint64_t value = 0;
        for (Py_ssize_t k = 1; k < n; k++) {
            if (value >> 57)
                return DER_PYTHON;
            value = value << 7 | (raw[k] & 0x7F);
            if (!(raw[k] & 0x80)) {
                used += sprintf(text + used, ".%llu", (unsigned long long)value);
                value = 0;
            }
        }
        PyObject *dotted = PyUnicode_FromStringAndSize(text, used);
        if (dotted == NULL)
            return DER_ERROR;
        PyObject *known = PyDict_GetItemWithError(names, dotted);
        if (known != NULL) {
            Py_DECREF(dotted);
            *out = Py_NewRef(known);
        } else if (PyErr_Occurred()) {
            Py_DECREF(dotted);
            return DER_ERROR;
        } else {
            *out = dotted;
        }
    }
    return *out == NULL ? DER_ERROR : DER_OK;
}

/* An attribute value as x509._string decodes it. */
static PyObject *der_string(unsigned tag, const unsigned char *raw, Py_ssize_t n)
{
    int big = 1;
    if (tag == 0x1E)
        return PyUnicode_DecodeUTF16((const char *)raw, n, "replace", &big);
    if (tag == 0x1C)
        return PyUnicode_DecodeUTF32((const char *)raw, n, "replace", &big);
    return PyUnicode_DecodeUTF8((const char *)raw, n, "replace");
}

/* A Name as x509.distinguished_name writes it ("C=US, O=..., CN=..."). */
static int distinguished(const unsigned char *d, Py_ssize_t pos, Py_ssize_t end, PyObject *names,
                         PyObject **out)
{
    PyObject *parts = PyList_New(0);
    if (parts == NULL)
        return DER_ERROR;
    int rc = DER_OK;
    while (pos < end && rc == DER_OK) {
        unsigned tag;
        Py_ssize_t set_start, set_end;
        if (!der_element(d, pos, end, &tag, &set_start, &set_end)) {
            rc = DER_BAD;
            break;
        }
        pos = set_end;
        if (tag != 0x31)
            continue;
        while (set_start < set_end && rc == DER_OK) {
            unsigned atv_tag, oid_tag, value_tag;
            Py_ssize_t atv, atv_end, oid_start, oid_end, v_start, v_end;
            if (!der_element(d, set_start, set_end, &atv_tag, &atv, &atv_end)
                || !der_element(d, atv, atv_end, &oid_tag, &oid_start, &oid_end)) {
                rc = DER_BAD;
                break;
            }
            set_start = atv_end;
            if (oid_tag != 0x06)
                continue;
            PyObject *value;
            if (oid_end < atv_end) {
                if (!der_element(d, oid_end, atv_end, &value_tag, &v_start, &v_end)) {
                    rc = DER_BAD;
                    break;
                }
                value = der_string(value_tag, d + v_start, v_end - v_start);
            } else {
                value = PyUnicode_FromString("");
            }
            if (value == NULL) {
                rc = DER_ERROR;
                break;
            }
            PyObject *name = NULL;
            rc = oid_name(d + oid_start, oid_end - oid_start, names, &name);
            if (rc == DER_OK) {
                PyObject *part = PyUnicode_FromFormat("%U=%U", name, value);
                if (part == NULL || PyList_Append(parts, part) < 0)
                    rc = DER_ERROR;
                Py_XDECREF(part);
            }
            Py_XDECREF(name);
            Py_DECREF(value);
        }
    }
    if (rc == DER_OK) {
        PyObject *sep = PyUnicode_FromString(", ");
        *out = sep == NULL ? NULL : PyUnicode_Join(sep, parts);
        Py_XDECREF(sep);
        if (*out == NULL)
            rc = DER_ERROR;
    }
    Py_DECREF(parts);
    return rc;
}

static int two_digits(const unsigned char *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

/* A validity time as x509._time writes it (ISO 8601, UTC), None when it is not a valid
 * UTCTime or GeneralizedTime, or (tag, bytes) for a year before 1000, which is left to the
 * platform's strftime on the Python side. */
static PyObject *der_time(unsigned tag, const unsigned char *raw, Py_ssize_t n)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    Py_ssize_t digits = tag == 0x17 ? 12 : tag == 0x18 ? 14 : -1;
    if (digits < 0 || n != digits + 1 || raw[digits] != 'Z')
        return Py_NewRef(Py_None);
    for (Py_ssize_t k = 0; k < digits; k++)
        if (raw[k] < '0' || raw[k] > '9')
            return Py_NewRef(Py_None);
    int year;
    if (tag == 0x17) {
        year = two_digits(raw);
        year += year >= 50 ? 1900 : 2000;
        raw += 2;
    } else {
        year = two_digits(raw) * 100 + two_digits(raw + 2);
        raw += 4;
    }
    if (year < 1000)
        return Py_BuildValue("(Iy#)", tag, (const char *)raw - 4, n);
    int month = two_digits(raw), day = two_digits(raw + 2), hour = two_digits(raw + 4),
        minute = two_digits(raw + 6), second = two_digits(raw + 8);
    int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59
        || day > (month == 2 && leap ? 29 : days[month - 1]))
        return Py_NewRef(Py_None);
    char text[32];
    int len = sprintf(text, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, day, hour, minute,
                      second);
    return PyUnicode_FromStringAndSize(text, len);
}

/* certificate_fields(der, short_names) -> None (not a certificate), False (left to Python) or
 * (subject, issuer, not_before, not_after): the walk of x509.certificate_names, each time as
 * der_time gives it. */
static PyObject *certificate_fields(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    PyObject *names;
    if (!PyArg_ParseTuple(args, "y*O!", &buf, &PyDict_Type, &names))
        return NULL;
    const unsigned char *d = (const unsigned char *)buf.buf;
    Py_ssize_t end = buf.len, cert, cert_end, pos, tbs_end, next, issuer, issuer_end, validity,
               validity_end, subject, subject_end, s1 = 0, e1 = 0, s2 = 0, e2 = 0, skip, skip_end;
    unsigned tag, tag_v, t1 = 0, t2 = 0;
    PyObject *out = NULL, *subject_text = NULL, *issuer_text = NULL;
    int rc = DER_BAD;
    if (!der_element(d, 0, end, &tag, &cert, &cert_end) || tag != 0x30)
        goto finish;
    if (!der_element(d, cert, cert_end, &tag, &pos, &tbs_end) || tag != 0x30)
        goto finish;
    if (!der_element(d, pos, tbs_end, &tag, &skip, &next))
        goto finish;
    pos = next;
    if (tag == 0xA0) { /* [0] version; the serial number follows */
        if (!der_element(d, pos, tbs_end, &tag, &skip, &next))
            goto finish;
        pos = next;
    }
    if (!der_element(d, pos, tbs_end, &tag, &skip, &skip_end)) /* signature algorithm */
        goto finish;
    pos = skip_end;
    if (!der_element(d, pos, tbs_end, &tag, &issuer, &issuer_end)
        || !der_element(d, issuer_end, tbs_end, &tag_v, &validity, &validity_end)
        || !der_element(d, validity_end, tbs_end, &tag, &subject, &subject_end))
        goto finish;
    if (tag_v == 0x30) {
        if (!der_element(d, validity, validity_end, &t1, &s1, &e1)
            || !der_element(d, e1, validity_end, &t2, &s2, &e2))
            goto finish;
    }
    rc = distinguished(d, subject, subject_end, names, &subject_text);
    if (rc == DER_OK)
        rc = distinguished(d, issuer, issuer_end, names, &issuer_text);
    if (rc == DER_OK) {
        if (tag_v == 0x30)
            out = Py_BuildValue("(OONN)", subject_text, issuer_text, der_time(t1, d + s1, e1 - s1),
                                der_time(t2, d + s2, e2 - s2));
        else
            out = Py_BuildValue("(OOOO)", subject_text, issuer_text, Py_None, Py_None);
    }
finish:
    if (rc == DER_BAD)
        out = Py_NewRef(Py_None);
    else if (rc == DER_PYTHON)
        out = Py_NewRef(Py_False);
    Py_XDECREF(subject_text);
    Py_XDECREF(issuer_text);
    PyBuffer_Release(&buf);
    return out;
}

/* -- fingerprints (JA3, JA4) ---------------------------------------------------------------- */

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
static PyObject *decimal_list(PyObject *self, PyObject *args)
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
            used += sprintf(text + used, used ? "-%ld" : "%ld", v[k]);
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

/* hex_list(values, sort, drop_sni_alpn) -> ("002f,0035", count) or None for values outside
 * 0..0xffff: JA4's lists, GREASE left out, sorted or not, without 0x0000 and 0x0010 if asked;
 * count is the number of values without GREASE (before SNI and ALPN are dropped). */
static PyObject *hex_list(PyObject *self, PyObject *args)
{
    PyObject *seq;
    int sort = 0, drop = 0;
    if (!PyArg_ParseTuple(args, "Opp", &seq, &sort, &drop))
        return NULL;
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
            used += sprintf(text + used, used ? ",%04lx" : "%04lx", v[k]);
        }
        out = Py_BuildValue("(Nn)", PyUnicode_FromStringAndSize(text, used), kept);
    }
    PyMem_Free(text);
    PyMem_Free(v);
    return out;
}

static PyMethodDef methods[] = {
    {"tls_handshake", tls_handshake, METH_VARARGS, "(messages, wants_more, ended) of a record stream"},
    {"split_handshake", split_handshake, METH_VARARGS, "(messages, wants_more) of handshake bytes"},
    {"client_hello", client_hello, METH_VARARGS, "The fields of a ClientHello body, or None"},
    {"server_hello", server_hello, METH_VARARGS, "The fields of a ServerHello body, or None"},
    {"certificate_list", certificate_list, METH_VARARGS, "The DER certificates of a Certificate"},
    {"dns_message", dns_message, METH_VARARGS, "A DNS message's fields, or None"},
    {"answered_names", answered_names, METH_VARARGS, "(address, name) answers of many messages"},
    {"certificate_fields", certificate_fields, METH_VARARGS, "A certificate's names and times"},
    {"decimal_list", decimal_list, METH_VARARGS, "JA3's dash-joined decimal lists"},
    {"hex_list", hex_list, METH_VARARGS, "JA4's comma-joined hex lists and their size"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_parsers",
    "Compiled twins of engine.app's TLS and DNS byte walks (same results as the Python ones).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__parsers(void) { return PyModule_Create(&module); }
