/*
 * X.509: a certificate's subject, issuer and validity, the walk of
 * engine/app/x509.py_certificate_names (an OID with an arc past 64 bits is left to Python).
 */
#include "parsers.h"

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
        used = put_decimal(text, top);
        text[used++] = '.';
        used += put_decimal(text + used, raw[0] - 40 * top);
        uint64_t value = 0;
        for (Py_ssize_t k = 1; k < n; k++) {
            if (value >> 57)
                return DER_PYTHON;
            value = value << 7 | (raw[k] & 0x7F);
            if (!(raw[k] & 0x80)) {
                text[used++] = '.';
                used += put_decimal(text + used, value);
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
    int len = 0, parts[6] = {year, month, day, hour, minute, second};
    const char after[6] = {'-', '-', 'T', ':', ':', 'Z'};
    for (int k = 0; k < 6; k++) {
        len += put_decimal_width(text + len, (unsigned)parts[k], k == 0 ? 4 : 2);
        text[len++] = after[k];
    }
    return PyUnicode_FromStringAndSize(text, len);
}

/* certificate_fields(der, short_names) -> None (not a certificate), False (left to Python) or
 * (subject, issuer, not_before, not_after): the walk of x509.certificate_names, each time as
 * der_time gives it. */
PyObject *certificate_fields(PyObject *self, PyObject *args)
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

