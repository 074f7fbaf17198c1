/*
 * JA3, JA3S and JA4 from the hello fields, in one call each (engine/app/fingerprints.py, whose
 * py_ functions are the reference): the number lists they hash, GREASE values left out, decimal
 * and dash-joined or 4-digit hex and comma-joined, sorted if asked, and their digests.
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

static int compare_longs(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* The GREASE-free values of a sequence as JA4's hex text into a new buffer (*len long; sorted
 * and without SNI and ALPN if asked) and their count before SNI and ALPN are dropped; NULL
 * with no exception set for values outside 0..0xffff. */
static char *hex_text(PyObject *seq, int sort, int drop, Py_ssize_t *len, Py_ssize_t *count)
{
    Py_ssize_t n, kept = 0;
    long *v = small_values(seq, &n);
    if (v == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < n; k++)
        if (!is_grease(v[k]))
            v[kept++] = v[k];
    if (sort)
        qsort(v, (size_t)kept, sizeof(long), compare_longs);
    char *text = PyMem_Malloc((size_t)kept * 5 + 1);
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
        *len = used;
        *count = kept;
    }
    PyMem_Free(v);
    return text;
}

/* JA4's list sizes and hashes (fingerprints.py_ja4_hashes): the number of GREASE-free ciphers
 * and extensions, and the first 12 hex digits of the SHA-256 of the sorted cipher list, and of
 * the sorted extensions without SNI and ALPN followed by "_" and the signature algorithms in
 * order when there are any; twelve zeros for an empty list. 0 with no exception set for values
 * outside 0..0xffff, -1 with one on error. */
static int ja4_parts(PyObject *seqs[3], Py_ssize_t counts[2], char hashes[2][64])
{
    static const int sort[3] = {1, 1, 0}, drop[3] = {0, 1, 0};
    char *text[3] = {NULL, NULL, NULL};
    Py_ssize_t len[3] = {0, 0, 0}, count[3] = {0, 0, 0};
    int status = -1;
    for (int k = 0; k < 3; k++) {
        text[k] = hex_text(seqs[k], sort[k], drop[k], &len[k], &count[k]);
        if (text[k] == NULL) {
            status = PyErr_Occurred() ? -1 : 0;
            goto done;
        }
    }
    memset(hashes, '0', 2 * 64);
    if (count[0])
        sha256_hex((const unsigned char *)text[0], (size_t)len[0], hashes[0]);
    if (count[1]) {
        char *joined = PyMem_Malloc((size_t)(len[1] + 1 + len[2]) + 1);
        if (joined == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        memcpy(joined, text[1], (size_t)len[1]);
        Py_ssize_t used = len[1];
        if (count[2]) {
            joined[used++] = '_';
            memcpy(joined + used, text[2], (size_t)len[2]);
            used += len[2];
        }
        sha256_hex((const unsigned char *)joined, (size_t)used, hashes[1]);
        PyMem_Free(joined);
    }
    counts[0] = count[0];
    counts[1] = count[1];
    status = 1;
done:
    for (int k = 0; k < 3; k++)
        PyMem_Free(text[k]);
    return status;
}

/* JA4's two-character TLS version (fingerprints._JA4_VERSIONS), "00" for the others. */
static const char *ja4_version(long version)
{
    switch (version) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xFEFF: return "d1";
    case 0xFEFD: return "d2";
    case 0xFEFC: return "d3";
    default: return "00";
    }
}

/* ja4(transport, legacy_version, supported_versions, sni, ciphers, extensions, alpn,
 * signature_algorithms) -> the whole JA4 ("t13d1516h2_8daaf6152771_b0da82dd1658", as
 * fingerprints.py_ja4), or None when a list value is outside 0..0xffff. ``alpn`` is its two
 * characters already (fingerprints._alpn_chars); the version is the highest GREASE-free
 * supported version (the lowest for DTLS, "d", whose numbers count down), else the legacy one. */
PyObject *ja4(PyObject *self, PyObject *args)
{
    const char *transport, *alpn;
    Py_ssize_t transport_len, alpn_len;
    long legacy;
    int sni;
    PyObject *supported, *seqs[3];
    if (!PyArg_ParseTuple(args, "s#lOpOOs#O", &transport, &transport_len, &legacy, &supported,
                          &sni, &seqs[0], &seqs[1], &alpn, &alpn_len, &seqs[2]))
        return NULL;
    Py_ssize_t n;
    long *v = small_values(supported, &n);
    if (v == NULL)
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    int dtls = transport_len == 1 && transport[0] == 'd';
    long version = -1;
    for (Py_ssize_t k = 0; k < n; k++)
        if (!is_grease(v[k]) && (version < 0 || (dtls ? v[k] < version : v[k] > version)))
            version = v[k];
    PyMem_Free(v);
    if (version < 0)
        version = legacy;
    Py_ssize_t counts[2];
    char hashes[2][64];
    int status = ja4_parts(seqs, counts, hashes);
    if (status <= 0)
        return status < 0 ? NULL : Py_NewRef(Py_None);
    return PyUnicode_FromFormat("%s%s%c%02zd%02zd%s_%.12s_%.12s", transport, ja4_version(version),
                                sni ? 'd' : 'i', counts[0] < 99 ? counts[0] : 99,
                                counts[1] < 99 ? counts[1] : 99, alpn, hashes[0], hashes[1]);
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

/* The head numbers and lists as JA3-style text ("771,4865-4866,0-23,29-23,0") into a new
 * buffer (*len long): the heads (0..0xffff) comma-joined, then each list dash-joined after a
 * comma, GREASE left out of the first `skipped` lists. NULL with no exception set when a value
 * is outside 0..0xffff. */
static char *ja3_like(const long *heads, int nheads, PyObject **seqs, int nseqs, int skipped,
                      Py_ssize_t *len)
{
    long *v[4] = {NULL, NULL, NULL, NULL};
    Py_ssize_t n[4] = {0, 0, 0, 0}, total = 7 * nheads;
    char *text = NULL;
    for (int k = 0; k < nheads; k++)
        if (heads[k] < 0 || heads[k] > 0xFFFF)
            return NULL;
    for (int k = 0; k < nseqs; k++) {
        v[k] = small_values(seqs[k], &n[k]);
        if (v[k] == NULL)
            goto done;
        total += n[k] * 6 + 1;
    }
    text = PyMem_Malloc((size_t)total + 1);
    if (text == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t used = 0;
    for (int k = 0; k < nheads; k++) {
        if (k)
            text[used++] = ',';
        used += put_decimal(text + used, (uint64_t)heads[k]);
    }
    for (int k = 0; k < nseqs; k++) {
        text[used++] = ',';
        used += put_dashed(text + used, v[k], n[k], k < skipped);
    }
    *len = used;
done:
    for (int k = 0; k < nseqs; k++)
        PyMem_Free(v[k]);
    return text;
}

/* ja3_text(version, ciphers, extensions, groups, point_formats) -> the string JA3 hashes
 * ("771,4865-4866,0-23,29-23,0"; GREASE left out except from the point formats, as
 * fingerprints.py_ja3_text), or None when a value is outside 0..0xffff. With md5 true, the hex
 * MD5 of that string (the JA3 itself). */
PyObject *ja3_text(PyObject *self, PyObject *args)
{
    long version;
    PyObject *seqs[4];
    int md5 = 0;
    if (!PyArg_ParseTuple(args, "lOOOO|p", &version, &seqs[0], &seqs[1], &seqs[2], &seqs[3],
                          &md5))
        return NULL;
    Py_ssize_t len = 0;
    char *text = ja3_like(&version, 1, seqs, 4, 3, &len);
    if (text == NULL)
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    PyObject *out;
    if (md5) {
        char hex[32];
        md5_hex((const unsigned char *)text, (size_t)len, hex);
        out = PyUnicode_FromStringAndSize(hex, 32);
    } else {
        out = PyUnicode_FromStringAndSize(text, len);
    }
    PyMem_Free(text);
    return out;
}

/* ja3s_md5(version, cipher, extensions) -> JA3S, the hex MD5 of "771,4865,43-51" (GREASE
 * left out of the extensions, as fingerprints.py_ja3s), or None when a value is outside
 * 0..0xffff. */
PyObject *ja3s_md5(PyObject *self, PyObject *args)
{
    long heads[2];
    PyObject *seq;
    if (!PyArg_ParseTuple(args, "llO", &heads[0], &heads[1], &seq))
        return NULL;
    Py_ssize_t len = 0;
    char *text = ja3_like(heads, 2, &seq, 1, 1, &len);
    if (text == NULL)
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    char hex[32];
    md5_hex((const unsigned char *)text, (size_t)len, hex);
    PyMem_Free(text);
    return PyUnicode_FromStringAndSize(hex, 32);
}
