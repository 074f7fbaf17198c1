/*
 * engine.app._parsers: compiled twins of the application layer's hottest byte walks — the TLS
 * record layer and hellos (tls.c), DNS messages (dns.c), certificate names (x509.c) and the
 * number lists JA3 and JA4 hash (lists.c). At load every identified conversation passes through
 * some of them, and in Python each costs tens of microseconds of index arithmetic and number
 * formatting.
 *
 * Each function has a pure-Python reference in engine/app (tls.py, dns.py, x509.py,
 * fingerprints.py) that gives the same answer for every input, including cut-short and hostile
 * bytes; tests run both over the truth set and over random and damaged messages
 * (tests/engine/test_app_compiled.py). Text that is not valid UTF-8 (names, SNI, ALPN) is
 * returned as bytes, for the Python side's lenient decoding (Wireshark's way with damaged
 * text). Nothing is read outside the given buffers and nothing is allocated from a length a
 * message claims: every output is bounded by the input's size.
 */
#include "parsers.h"

int append_int(PyObject *list, long value)
{
    PyObject *v = PyLong_FromLong(value);
    if (v == NULL)
        return 0;
    int rc = PyList_Append(list, v);
    Py_DECREF(v);
    return rc == 0;
}

PyObject *u16_list(const unsigned char *p, Py_ssize_t n)
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
PyObject *utf8_or_bytes(const char *raw, Py_ssize_t len)
{
    PyObject *text = PyUnicode_DecodeUTF8(raw, len, NULL);
    if (text != NULL || !PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
        return text;
    PyErr_Clear();
    return PyBytes_FromStringAndSize(raw, len);
}

static PyMethodDef methods[] = {
    {"tls_handshake", tls_handshake, METH_VARARGS, "(messages, wants_more, ended) of a record stream"},
    {"split_handshake", split_handshake, METH_VARARGS, "(messages, wants_more) of handshake bytes"},
    {"client_hello", client_hello, METH_VARARGS, "The fields of a ClientHello body, or None"},
    {"server_hello", server_hello, METH_VARARGS, "The fields of a ServerHello body, or None"},
    {"certificate_list", certificate_list, METH_VARARGS, "The DER certificates of a Certificate"},
    {"tls_hellos", tls_hellos, METH_VARARGS, "Both sides' hellos and the server certificates"},
    {"tls_streams", tls_streams, METH_VARARGS, "inspect_tls over many TCP conversations"},
    {"dns_message", dns_message, METH_VARARGS, "A DNS message's fields, or None"},
    {"dns_summary", dns_summary, METH_VARARGS, "What the DNS inspector reads of a message"},
    {"dns_summaries", dns_summaries, METH_VARARGS, "dns_summary of many first messages"},
    {"answered_names", answered_names, METH_VARARGS, "(address, name) answers of many messages"},
    {"certificate_fields", certificate_fields, METH_VARARGS, "A certificate's names and times"},
    {"ja4", ja4, METH_VARARGS, "The whole JA4 of a ClientHello's fields"},
    {"ja3_text", ja3_text, METH_VARARGS, "The string JA3 hashes, or its MD5"},
    {"ja3s_md5", ja3s_md5, METH_VARARGS, "JA3S"},
    {"digest_hex", digest_hex, METH_VARARGS, "Hex MD5 or SHA-256 of bytes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_parsers",
    "Compiled twins of engine.app's TLS, DNS, X.509 and fingerprint walks (same results as the "
    "Python ones).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__parsers(void) { return PyModule_Create(&module); }
