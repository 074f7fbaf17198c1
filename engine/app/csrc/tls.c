/*
 * TLS: the record layer, the handshake messages, ClientHello, ServerHello and the certificate
 * list — the walks of engine/app/tls.py (tls_handshake, crypto_handshake, parse_client_hello,
 * parse_server_hello, certificate_list) and of inspect._hellos, which reads both sides at once.
 */
#include "parsers.h"

#define HANDSHAKE 22
#define MAX_RECORD ((1 << 14) + 2048)
#define MAX_MESSAGE (1 << 17)

/* one handshake message: its type and where its body is */
typedef struct {
    unsigned kind;
    Py_ssize_t at, len;
} Message;

/* the handshake messages of one side: bodies are in ``base`` (the joined record payloads, or
 * the given bytes when there is no record layer) */
typedef struct {
    const unsigned char *base;
    unsigned char *joined; /* owned */
    Message *messages;     /* owned */
    Py_ssize_t count;
    int wants, ended;
} Handshake;

static void handshake_free(Handshake *hs)
{
    PyMem_Free(hs->joined);
    PyMem_Free(hs->messages);
}

/* tls._split_messages: the messages of n joined bytes (at most n / 4 + 1 of them). */
static void split(Handshake *hs, Py_ssize_t n)
{
    const unsigned char *b = hs->base;
    Py_ssize_t pos = 0;
    while (pos + 4 <= n) {
        Py_ssize_t length = (Py_ssize_t)u24at(b + pos + 1);
        if (length > MAX_MESSAGE)
            return;
        if (pos + 4 + length > n) {
            hs->wants = 1;
            return;
        }
        hs->messages[hs->count++] = (Message){b[pos], pos + 4, length};
        pos += 4 + length;
    }
    if (pos < n)
        hs->wants = 1;
}

/* Room for the messages of n bytes; 0 with MemoryError set when there is none. */
static int make_room(Handshake *hs, Py_ssize_t n)
{
    hs->messages = PyMem_Malloc(sizeof(Message) * (size_t)(n / 4 + 1));
    if (hs->messages == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    return 1;
}

/* tls.tls_handshake: the handshake messages of a record stream. 0 on MemoryError. */
static int read_records(const unsigned char *d, Py_ssize_t size, Handshake *hs)
{
    *hs = (Handshake){NULL, PyMem_Malloc(size > 0 ? (size_t)size : 1), NULL, 0, 0, 0};
    if (hs->joined == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    if (!make_room(hs, size))
        return 0;
    hs->base = hs->joined;
    Py_ssize_t pos = 0, used = 0;
    int broke = 0;
    while (pos + 5 <= size) {
        unsigned ctype = d[pos], major = d[pos + 1];
        Py_ssize_t length = (Py_ssize_t)u16at(d + pos + 3);
        if (ctype < 20 || ctype > 24 || major != 3 || length > MAX_RECORD) {
            broke = 1;
            break;
        }
        if (ctype != HANDSHAKE) {
            hs->ended = 1;
            broke = 1;
            break;
        }
        Py_ssize_t end = pos + 5 + length, stop = end < size ? end : size;
        memcpy(hs->joined + used, d + pos + 5, (size_t)(stop - pos - 5));
        used += stop - pos - 5;
        if (end > size)
            hs->wants = 1;
        pos = end;
    }
    if (!broke && (pos < size || size == 0))
        hs->wants = 1;
    split(hs, used);
    return 1;
}

static const Message *first_of(const Handshake *hs, unsigned kind)
{
    for (Py_ssize_t k = 0; k < hs->count; k++)
        if (hs->messages[k].kind == kind)
            return &hs->messages[k];
    return NULL;
}

static PyObject *messages_list(const Handshake *hs)
{
    PyObject *list = PyList_New(hs->count);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < hs->count; k++) {
        const Message *m = &hs->messages[k];
        PyObject *item = Py_BuildValue("(Iy#)", m->kind, (const char *)hs->base + m->at, m->len);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, k, item);
    }
    return list;
}

/* tls_handshake(data) -> (messages, wants_more, ended): see tls.tls_handshake. */
PyObject *tls_handshake(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf))
        return NULL;
    Handshake hs;
    PyObject *out = NULL;
    if (read_records(buf.buf, buf.len, &hs)) {
        PyObject *messages = messages_list(&hs);
        if (messages != NULL)
            out = Py_BuildValue("(NNN)", messages, PyBool_FromLong(hs.wants),
                                PyBool_FromLong(hs.ended));
    }
    handshake_free(&hs);
    PyBuffer_Release(&buf);
    return out;
}

/* split_handshake(data) -> (messages, wants_more): a QUIC CRYPTO stream's handshake messages
 * (tls.crypto_handshake). */
PyObject *split_handshake(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf))
        return NULL;
    Handshake hs = {buf.buf, NULL, NULL, 0, 0, 0};
    PyObject *out = NULL;
    if (make_room(&hs, buf.len)) {
        split(&hs, buf.len);
        PyObject *messages = messages_list(&hs);
        if (messages != NULL)
            out = Py_BuildValue("(NN)", messages, PyBool_FromLong(hs.wants));
    }
    handshake_free(&hs);
    PyBuffer_Release(&buf);
    return out;
}

/* -- ClientHello -------------------------------------------------------------------------- */

/* The fields of a ClientHello while it is read. */
typedef struct {
    PyObject *ciphers, *extensions, *alpn, *groups, *points, *sigs, *versions;
    Py_ssize_t sni_at, sni_len; /* sni_at < 0: none */
} Hello;

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
            return OK;
        }
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
    for (Py_ssize_t k = 0; k < b[pos]; k++)
        PyList_SET_ITEM(list, k, PyLong_FromLong(b[pos + 1 + k])); /* small ints: cached */
    Py_XSETREF(h->points, list);
    return OK;
}

/* The ClientHello walk (tls.py_parse_client_hello). */
static int client_hello_walk(const unsigned char *b, Py_ssize_t size, int dtls, Hello *h)
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
    h->ciphers = u16_list(b + pos, count >= 2 ? count / 2 : 0);
    if (h->ciphers == NULL)
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

/* None or (version, ciphers, extensions, sni (text, bytes if not UTF-8, or None), alpn, groups,
 * point formats, signature algorithms, supported versions); NULL on MemoryError. */
static PyObject *client_hello_fields(const unsigned char *b, Py_ssize_t size, int dtls)
{
    Hello h = {NULL, PyList_New(0), PyList_New(0), PyList_New(0), PyList_New(0), PyList_New(0),
               PyList_New(0), -1, 0};
    PyObject *out = NULL;
    int rc = FAIL;
    if (h.extensions && h.alpn && h.groups && h.points && h.sigs && h.versions)
        rc = client_hello_walk(b, size, dtls, &h);
    if (rc == SHORT) {
        out = Py_NewRef(Py_None);
    } else if (rc == OK) {
        PyObject *sni = h.sni_at < 0 ? Py_NewRef(Py_None)
                                     : utf8_or_bytes((const char *)b + h.sni_at, h.sni_len);
        if (sni != NULL)
            out = Py_BuildValue("(lOONOOOOO)", (long)u16at(b), h.ciphers, h.extensions, sni,
                                h.alpn, h.groups, h.points, h.sigs, h.versions);
    }
    Py_XDECREF(h.ciphers);
    Py_XDECREF(h.extensions);
    Py_XDECREF(h.alpn);
    Py_XDECREF(h.groups);
    Py_XDECREF(h.points);
    Py_XDECREF(h.sigs);
    Py_XDECREF(h.versions);
    return out;
}

/* client_hello(body, dtls) -> client_hello_fields (tls.parse_client_hello). */
PyObject *client_hello(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    int dtls = 0;
    if (!PyArg_ParseTuple(args, "y*|p", &buf, &dtls))
        return NULL;
    PyObject *out = client_hello_fields(buf.buf, buf.len, dtls);
    PyBuffer_Release(&buf);
    return out;
}

/* -- ServerHello and Certificate ---------------------------------------------------------- */

/* None or (version, cipher, extensions, selected version or None, alpn (text, bytes if not
 * UTF-8, or None)): the walk of tls.py_parse_server_hello; NULL on MemoryError. */
static PyObject *server_hello_fields(const unsigned char *b, Py_ssize_t size)
{
    Py_ssize_t pos = 34, alpn_at = -1, alpn_len = 0;
    long selected = -1;
    if (size < 34)
        return Py_NewRef(Py_None);
    unsigned version = u16at(b);
    if ((version & 0xFF00) != 0x7F00) { /* TLS 1.3 drafts had no session id echo */
        if (pos + 1 > size || pos + 1 + b[pos] > size)
            return Py_NewRef(Py_None);
        pos += 1 + b[pos];
    }
    if (pos + 3 > size)
        return Py_NewRef(Py_None);
    unsigned cipher = u16at(b + pos);
    pos += 3;
    PyObject *extensions = PyList_New(0);
    if (extensions == NULL)
        return NULL;
    if (size - pos >= 2) {
        Py_ssize_t end = pos + 2 + (Py_ssize_t)u16at(b + pos);
        pos += 2;
        if (end > size)
            goto short_;
        while (pos < end) {
            if (pos + 4 > end)
                goto short_;
            unsigned kind = u16at(b + pos);
            Py_ssize_t length = (Py_ssize_t)u16at(b + pos + 2);
            Py_ssize_t start = pos + 4, stop = start + length;
            if (stop > end)
                goto short_;
            pos = stop;
            if (!append_int(extensions, (long)kind)) {
                Py_DECREF(extensions);
                return NULL;
            }
            if (kind == 43 && length >= 2) {
                selected = (long)u16at(b + start);
            } else if (kind == 16 && length >= 3) {
                Py_ssize_t list_end = start + 2 + (Py_ssize_t)u16at(b + start);
                if (list_end > stop || start + 2 >= list_end
                    || start + 3 + b[start + 2] > list_end)
                    goto short_;
                alpn_at = start + 3;
                alpn_len = b[start + 2];
            }
        }
    }
    PyObject *sel = selected < 0 ? Py_NewRef(Py_None) : PyLong_FromLong(selected);
    PyObject *alpn = alpn_at < 0 ? Py_NewRef(Py_None)
                                 : utf8_or_bytes((const char *)b + alpn_at, alpn_len);
    if (sel == NULL || alpn == NULL) {
        Py_XDECREF(sel);
        Py_XDECREF(alpn);
        Py_DECREF(extensions);
        return NULL;
    }
    return Py_BuildValue("(IINNN)", version, cipher, extensions, sel, alpn);
short_:
    Py_DECREF(extensions);
    return Py_NewRef(Py_None);
}

/* server_hello(body) -> server_hello_fields (tls.parse_server_hello). */
PyObject *server_hello(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf))
        return NULL;
    PyObject *out = server_hello_fields(buf.buf, buf.len);
    PyBuffer_Release(&buf);
    return out;
}

/* The DER certificates of a Certificate message body (tls.py_certificate_list). */
static PyObject *certificates(const unsigned char *b, Py_ssize_t size)
{
    PyObject *out = PyList_New(0);
    if (out == NULL || size < 3)
        return out;
    Py_ssize_t end = 3 + (Py_ssize_t)u24at(b), pos = 3;
    if (end > size)
        return out;
    while (pos + 3 <= end) {
        Py_ssize_t n = (Py_ssize_t)u24at(b + pos);
        if (pos + 3 + n > end)
            break;
        PyObject *der = PyBytes_FromStringAndSize((const char *)b + pos + 3, n);
        if (der == NULL || PyList_Append(out, der) < 0) {
            Py_XDECREF(der);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(der);
        pos += 3 + n;
    }
    return out;
}

/* certificate_list(body) -> list of DER certificates (tls.certificate_list). */
PyObject *certificate_list(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf))
        return NULL;
    PyObject *out = certificates(buf.buf, buf.len);
    PyBuffer_Release(&buf);
    return out;
}

/* -- both sides at once ------------------------------------------------------------------- */

/* The version a ServerHello's fields say is in use (supported_versions, else the hello's). */
static long negotiated(PyObject *fields)
{
    PyObject *selected = PyTuple_GET_ITEM(fields, 3);
    return PyLong_AsLong(selected != Py_None ? selected : PyTuple_GET_ITEM(fields, 0));
}

/* What inspect._hellos finds in two directions' record streams. */
typedef struct {
    long side;          /* the client's direction, -1: no ClientHello */
    int server;         /* the first direction with a ServerHello message, -1: none */
    PyObject *ch, *sh;  /* fields or None */
    PyObject *certs;    /* list */
    int wants;
} Hellos;

static void hellos_free(Hellos *h)
{
    Py_XDECREF(h->ch);
    Py_XDECREF(h->sh);
    Py_XDECREF(h->certs);
}

/* inspect._hellos, with its rules (the first side with a ClientHello is the client while no
 * hello parsed; a TLS 1.2 server flight without its Certificate wants more bytes). 0 on
 * MemoryError (*h still to be freed). */
static int hellos(const unsigned char *data[2], const Py_ssize_t size[2], int dtls, Hellos *h)
{
    *h = (Hellos){-1, -1, Py_NewRef(Py_None), Py_NewRef(Py_None), PyList_New(0), 0};
    int ok = h->certs != NULL;
    for (int d = 0; d < 2 && ok; d++) {
        Handshake hs;
        ok = read_records(data[d], size[d], &hs);
        const Message *m = ok ? first_of(&hs, 1) : NULL;
        if (m != NULL && h->ch == Py_None) {
            Py_SETREF(h->ch, client_hello_fields(hs.base + m->at, m->len, dtls));
            h->side = d;
            ok = h->ch != NULL;
        }
        m = ok ? first_of(&hs, 2) : NULL;
        if (m != NULL && h->server < 0)
            h->server = d;
        if (m != NULL && h->sh == Py_None) {
            Py_SETREF(h->sh, server_hello_fields(hs.base + m->at, m->len));
            ok = h->sh != NULL;
            const Message *cert = first_of(&hs, 11);
            if (ok && cert != NULL) {
                Py_SETREF(h->certs, certificates(hs.base + cert->at, cert->len));
                ok = h->certs != NULL;
            } else if (ok && h->sh != Py_None && negotiated(h->sh) < 0x0304
                       && !(hs.ended || first_of(&hs, 14) != NULL)) {
                h->wants = 1;
            }
        }
        if (ok && hs.wants)
            h->wants = 1;
        handshake_free(&hs);
    }
    return ok;
}

/* tls_hellos(data0, data1, dtls) -> (client side or None, ClientHello fields or None,
 * ServerHello fields or None, certificates, wants more): inspect._hellos. */
PyObject *tls_hellos(PyObject *self, PyObject *args)
{
    Py_buffer buf[2];
    int dtls = 0;
    if (!PyArg_ParseTuple(args, "y*y*|p", &buf[0], &buf[1], &dtls))
        return NULL;
    const unsigned char *data[2] = {buf[0].buf, buf[1].buf};
    const Py_ssize_t size[2] = {buf[0].len, buf[1].len};
    Hellos h;
    PyObject *out = NULL;
    if (hellos(data, size, dtls, &h))
        out = Py_BuildValue("(NOOON)", h.side < 0 ? Py_NewRef(Py_None) : PyLong_FromLong(h.side),
                            h.ch, h.sh, h.certs, PyBool_FromLong(h.wants));
    hellos_free(&h);
    PyBuffer_Release(&buf[0]);
    PyBuffer_Release(&buf[1]);
    return out;
}

/* inspect.looks_like_tls_record and the "seen after its handshake" test of inspect_tls */
static int hello_record(const unsigned char *p, Py_ssize_t n)
{
    return n >= 6 && p[0] == HANDSHAKE && p[1] == 3 && p[2] <= 4;
}

static int any_record(const unsigned char *p, Py_ssize_t n)
{
    return n >= 5 && p[0] >= 20 && p[0] <= 23 && p[1] == 3 && p[2] <= 4;
}

/* tls_streams(buffer, starts, sizes, contiguous, more) -> one verdict per conversation:
 * inspect_tls over the first packets of many TCP conversations, read from ``buffer`` (starts
 * and sizes: int64 [n, 2, depth], the packets' new bytes in stream order; contiguous and
 * more: bool [n, 2], as DirectionReader holds them). A verdict is None (not TLS), True (TLS,
 * nothing more known), (client side, ClientHello fields, ServerHello fields, certificates)
 * with the side already completed as inspect_tls does, or False: the conversation needs what
 * only the per-conversation inspector does (more packets than these, a hole to reassemble). */
PyObject *tls_streams(PyObject *self, PyObject *args)
{
    Py_buffer buf, starts, sizes, contiguous, more;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*", &buf, &starts, &sizes, &contiguous, &more))
        return NULL;
    Py_ssize_t n = contiguous.len / 2, depth = n ? starts.len / (Py_ssize_t)sizeof(int64_t) / n / 2
                                                 : 0;
    const int64_t *s = starts.buf, *z = sizes.buf;
    const unsigned char *joinable = contiguous.buf, *goes_on = more.buf, *base = buf.buf;
    PyObject *out = NULL;
    unsigned char *room[2] = {NULL, NULL};
    Py_ssize_t capacity[2] = {0, 0};
    if (more.len != contiguous.len || sizes.len != starts.len
        || starts.len != n * 2 * depth * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "arrays of different shapes");
        goto done;
    }
    for (Py_ssize_t k = 0; k < n * 2 * depth; k++)
        if (s[k] < 0 || z[k] < 0 || s[k] > buf.len || z[k] > buf.len - s[k]) {
            PyErr_SetString(PyExc_ValueError, "packet outside the buffer");
            goto done;
        }
    out = PyList_New(n);
    for (Py_ssize_t i = 0; i < n && out != NULL; i++) {
        const int64_t *ps = s + i * 2 * depth, *pz = z + i * 2 * depth;
        PyObject *verdict = NULL;
        const unsigned char *first[2] = {base + ps[0], base + ps[depth]};
        const Py_ssize_t first_size[2] = {(Py_ssize_t)pz[0], (Py_ssize_t)pz[depth]};
        if (!hello_record(first[0], first_size[0]) && !hello_record(first[1], first_size[1])) {
            int bare = any_record(first[0], first_size[0]) || any_record(first[1], first_size[1]);
            verdict = Py_NewRef(bare ? Py_True : Py_None);
            PyList_SET_ITEM(out, i, verdict);
            continue;
        }
        const unsigned char *data[2];
        Py_ssize_t size[2];
        int per_row = 0;
        for (int d = 0; d < 2 && !per_row; d++) {
            /* DirectionReader.stream(i, d, want) of a shallow reader */
            Py_ssize_t want = first_size[d] >= 5 ? 5 + (Py_ssize_t)u16at(first[d] + 3) : 0;
            Py_ssize_t total = 0;
            for (Py_ssize_t k = 0; k < depth; k++)
                total += (Py_ssize_t)pz[d * depth + k];
            if (!joinable[i * 2 + d] || (total < want && goes_on[i * 2 + d])) {
                per_row = 1;
                break;
            }
            if (total > capacity[d]) {
                unsigned char *grown = PyMem_Realloc(room[d], (size_t)total);
                if (grown == NULL) {
                    PyErr_NoMemory();
                    Py_CLEAR(out);
                    break;
                }
                room[d] = grown;
                capacity[d] = total;
            }
            size[d] = 0;
            for (Py_ssize_t k = 0; k < depth; k++) {
                Py_ssize_t piece = (Py_ssize_t)pz[d * depth + k];
                if (piece > 0)
                    memcpy(room[d] + size[d], base + ps[d * depth + k], (size_t)piece);
                size[d] += piece;
            }
            data[d] = total > 0 ? room[d] : (const unsigned char *)"";
        }
        if (out == NULL)
            break;
        if (per_row) {
            PyList_SET_ITEM(out, i, Py_NewRef(Py_False));
            continue;
        }
        Hellos h;
        if (!hellos(data, size, 0, &h)) {
            hellos_free(&h);
            Py_CLEAR(out);
            break;
        }
        if (h.wants) {
            verdict = Py_NewRef(Py_False); /* the hellos go on past these packets */
        } else if (h.ch == Py_None && h.sh == Py_None) {
            verdict = Py_NewRef(Py_True);
        } else {
            long side = h.side;
            if (side < 0 && h.sh != Py_None)
                side = 1 - (h.server >= 0 ? h.server : 1);
            verdict = Py_BuildValue("(NOOO)", side < 0 ? Py_NewRef(Py_None) : PyLong_FromLong(side),
                                    h.ch, h.sh, h.certs);
        }
        hellos_free(&h);
        if (verdict == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, i, verdict);
    }
done:
    PyMem_Free(room[0]);
    PyMem_Free(room[1]);
    PyBuffer_Release(&buf);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&sizes);
    PyBuffer_Release(&contiguous);
    PyBuffer_Release(&more);
    return out;
}
