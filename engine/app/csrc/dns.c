/*
 * DNS (also mDNS, LLMNR, NetBIOS name service): the walks of engine/app/dns.py — a message's
 * questions and records (parse_message, and the part of it the inspector reads), and the
 * capture-wide pass that names addresses after the questions that led to them
 * (answered_addresses, over many messages at once).
 */
#include "parsers.h"

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
            out[n++] = ':';
            out[n++] = ':';
            k += best_len - 1;
            continue;
        }
        if (k != 0 && k != best + best_len)
            out[n++] = ':';
        n += put_hex(out + n, groups[k], 1);
    }
    return n;
}

static PyObject *address_text(const unsigned char *p, Py_ssize_t size)
{
    char text[48];
    int n;
    if (size == 4)
        n = put_ipv4(text, p);
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

/* Where names are spelled while a message is read, and how: ``text`` (wire.text), when given,
 * decodes a name that is not valid UTF-8, so every name comes back as text. */
typedef struct {
    char *room; /* NAME_ROOM bytes */
    PyObject *text;
} Spelling;

static PyObject *name_value(const unsigned char *d, Py_ssize_t size, Py_ssize_t *at,
                            Py_ssize_t end, const Spelling *how, int *rc)
{
    Py_ssize_t len;
    *rc = raw_name(d, size, at, end, how->room, &len);
    if (*rc != OK)
        return NULL;
    PyObject *name = name_object(how->room, len);
    if (name != NULL && how->text != NULL && PyBytes_Check(name))
        Py_SETREF(name, PyObject_CallOneArg(how->text, name));
    if (name == NULL)
        *rc = FAIL;
    return name;
}

/* One resource record (dns._record) appended to ``section`` as (name, type, value): value is
 * the address text for A/AAAA, the target name for NS/CNAME/PTR, else None; names as
 * name_object gives them. ``values_only``: just the value, and only when there is one. */
static int dns_record(const unsigned char *d, Py_ssize_t size, Py_ssize_t *pos,
                      const Spelling *how, PyObject *section, int values_only)
{
    int rc;
    PyObject *name = name_value(d, size, pos, size, how, &rc), *value = NULL;
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
        value = name_value(d, size, &at, start + rsize, how, &rc);
        if (value == NULL)
            goto fail;
    } else {
        value = Py_NewRef(Py_None);
    }
    rc = FAIL;
    if (value == NULL)
        goto fail;
    if (values_only) {
        Py_DECREF(name);
        int appended = value == Py_None ? 0 : PyList_Append(section, value);
        Py_DECREF(value);
        return appended < 0 ? FAIL : OK;
    }
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

/* The walk of dns.py_parse_message. ``summary``: only what inspect_dns reads — (id, response,
 * rcode, questions, number of answer records, the answers' non-empty values), the authority
 * and additional sections left unread (they cannot change those). */
static PyObject *walk_message(const unsigned char *d, Py_ssize_t size, int records, int summary,
                              PyObject *text)
{
    Py_ssize_t pos = 12, answers = 0;
    PyObject *out = NULL, *sections[4] = {NULL, NULL, NULL, NULL};
    char *room = NULL;
    unsigned counts[4], max = 0;
    if (size < 12)
        return Py_NewRef(Py_None);
    for (int k = 0; k < 4; k++) {
        counts[k] = u16at(d + 4 + 2 * k);
        if (counts[k] > max)
            max = counts[k];
    }
    if (max > MAX_RECORDS)
        return Py_NewRef(Py_None);
    room = PyMem_Malloc(NAME_ROOM);
    for (int k = 0; k < 4; k++)
        sections[k] = PyList_New(0);
    if (room == NULL || !sections[0] || !sections[1] || !sections[2] || !sections[3]) {
        PyErr_NoMemory();
        goto done;
    }
    Spelling how = {room, text};
    int rc = OK;
    for (unsigned q = 0; q < counts[0] && rc == OK; q++) {
        PyObject *name = name_value(d, size, &pos, size, &how, &rc);
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
        for (int s = 1; s < (summary ? 2 : 4) && rc == OK; s++)
            for (unsigned k = 0; k < counts[s] && rc == OK; k++) {
                rc = dns_record(d, size, &pos, &how, sections[s], summary);
                answers += s == 1 && rc == OK;
            }
    }
    if (rc == FAIL)
        goto done;
    if (rc == SHORT && PyList_GET_SIZE(sections[0]) == 0 && counts[0]) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    unsigned flags = u16at(d + 2);
    if (summary)
        out = Py_BuildValue("(INIOnO)", u16at(d), PyBool_FromLong(flags & 0x8000), flags & 0xF,
                            sections[0], answers, sections[1]);
    else
        out = Py_BuildValue("(INII(IIII)OOOO)", u16at(d), PyBool_FromLong(flags & 0x8000),
                            (flags >> 11) & 0xF, flags & 0xF, counts[0], counts[1], counts[2],
                            counts[3], sections[0], sections[1], sections[2], sections[3]);
done:
    for (int k = 0; k < 4; k++)
        Py_XDECREF(sections[k]);
    PyMem_Free(room);
    return out;
}

/* dns_message(data, records) -> None or (id, response, opcode, rcode, counts, questions,
 * answers, authority, additional): dns.parse_message, names as name_object gives them. */
PyObject *dns_message(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    int records = 1;
    if (!PyArg_ParseTuple(args, "y*|p", &buf, &records))
        return NULL;
    PyObject *out = walk_message(buf.buf, buf.len, records, 0, NULL);
    PyBuffer_Release(&buf);
    return out;
}

/* dns_summary(data, records, text) -> None or (id, response, rcode, questions, answer records,
 * answer values): dns.message_summary, every name spelled by ``text`` when not UTF-8. */
PyObject *dns_summary(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    int records = 1;
    PyObject *text;
    if (!PyArg_ParseTuple(args, "y*pO", &buf, &records, &text))
        return NULL;
    PyObject *out = walk_message(buf.buf, buf.len, records, 1, text);
    PyBuffer_Release(&buf);
    return out;
}

/* dns_summaries(buffer, starts, sizes, text) -> a dns_summary for each message
 * buffer[starts[k] : starts[k] + sizes[k]] (int64 arrays), with records read when the message
 * is a response, and None for an empty one: the first messages of many conversations. */
PyObject *dns_summaries(PyObject *self, PyObject *args)
{
    Py_buffer buf, starts, sizes;
    PyObject *text, *out = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*O", &buf, &starts, &sizes, &text))
        return NULL;
    Py_ssize_t count = starts.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *s = starts.buf, *z = sizes.buf;
    if (sizes.len != starts.len) {
        PyErr_SetString(PyExc_ValueError, "starts and sizes differ in length");
        goto done;
    }
    out = PyList_New(count);
    for (Py_ssize_t k = 0; k < count && out != NULL; k++) {
        if (s[k] < 0 || z[k] < 0 || s[k] > buf.len || z[k] > buf.len - s[k]) {
            PyErr_SetString(PyExc_ValueError, "message outside the buffer");
            Py_CLEAR(out);
            break;
        }
        const unsigned char *d = (const unsigned char *)buf.buf + s[k];
        PyObject *item = z[k] == 0 ? Py_NewRef(Py_None)
                                   : walk_message(d, (Py_ssize_t)z[k], z[k] > 2 && d[2] & 0x80,
                                                  1, text);
        if (item == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, k, item);
    }
done:
    PyBuffer_Release(&buf);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&sizes);
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
                ? put_ipv4(a->addresses[n], d + start)
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

/* A response with answer or additional records: a message the names pass reads. */
static int answers_something(const unsigned char *d, Py_ssize_t size)
{
    return size >= 12 && d[2] & 0x80 && (u16at(d + 6) || u16at(d + 10));
}

/* answered_names(buffer, starts, sizes, multicast, responses_only) -> (answers, left): for each
 * message buffer[starts[k] : starts[k] + sizes[k]] (int64 arrays; multicast: a bool array),
 * the (k, address, name) pairs of dns.answered_addresses (names as name_object gives them),
 * and the indices k of messages too large for this walk (their answers are left to the Python
 * reference). ``responses_only``: messages that are not answers_something are skipped. */
PyObject *answered_names(PyObject *self, PyObject *args)
{
    Py_buffer buf, starts, sizes, multicast;
    int responses_only = 0;
    if (!PyArg_ParseTuple(args, "y*y*y*y*|p", &buf, &starts, &sizes, &multicast,
                          &responses_only))
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
        const unsigned char *d = (const unsigned char *)buf.buf + s[k];
        if (responses_only && !answers_something(d, (Py_ssize_t)z[k]))
            continue;
        a->arena = arena;
        a->room = room;
        a->used = 0;
        a->n_questions = a->n_cnames = a->n_addresses = 0;
        int found = walk_answers(d, (Py_ssize_t)z[k], m[k] != 0, a);
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

