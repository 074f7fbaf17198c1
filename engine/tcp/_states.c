/*
 * The per-conversation TCP summary's state machines and Zeek history, compiled: what
 * engine/tcp/history.py (history_strings) and engine/tcp/summary.py (final_states, with
 * events.py and automaton.py) compute with numpy, for a batch of conversations in one call with
 * the GIL released. The numpy code stays the reference (and what installs without a compiler
 * use); tests/engine/test_tcp_states_compiled.py holds the two equal.
 *
 * Each conversation is one walk over its packets in order. The state machines' rules are not
 * restated here: their transition tables (state.transition_table(), zeek.zeek_table()) come
 * from Python. Every packet is stepped, not only events.py's "event" packets: the others are
 * no-ops of both machines (events.py's docstring; a test checks it), so the result is the same.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* TCP header flag bits (engine/packets.py) */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* event code bits of state.py (FROM_SERVER, E_SYN, E_ACK, E_FIN, E_RST, ACKS_SYN, ACKS_FIN);
 * zeek.py's codes are the low five bits (Z_FROM_RESP, Z_SYN, Z_ACK, Z_FIN, Z_RST) */
#define C_FROM_SERVER 1
#define C_SYN 2
#define C_ACK 4
#define C_FIN 8
#define C_RST 16
#define C_ACKS_SYN 32
#define C_ACKS_FIN 64
#define ZEEK_CODE_MASK 31

/* history.py's MAX_HISTORY: the grid's row width */
#define MAX_HISTORY 32

static inline int64_t add64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

/* ---- argument checks (buffer protocol, no numpy C API) ---------------------------------- */

#include "../buffer_args.h"

/* Takes the arguments: obj[0] is the lane column (0 or 1 a row), which sets n; obj[bounds_at] the bounds;
 * items[k] is the length of argument k in units: 'n' rows, 'c' conversations, 'C' two per
 * conversation, 'b' bounds (nconv + 1), 'x' any. Returns 0 with an exception set. */
static int take_all(PyObject **obj, Py_buffer *view, const Spec *specs, const char *units,
                    int nargs, int bounds_at, Py_ssize_t *n_out, Py_ssize_t *nconv_out)
{
    if (!take(obj[0], &specs[0], -1, &view[0]) ||
        !take(obj[bounds_at], &specs[bounds_at], -1, &view[bounds_at]))
        return 0;
    Py_ssize_t n = view[0].len / specs[0].itemsize, nconv = view[bounds_at].len / 8 - 1;
    if (nconv < 0) {
        PyErr_SetString(PyExc_ValueError, "bounds: at least one item expected");
        return 0;
    }
    for (int k = 0; k < nargs; k++) {
        if (k == 0 || k == bounds_at)
            continue;
        Py_ssize_t items = units[k] == 'n' ? n
                         : units[k] == 'c' ? nconv
                         : units[k] == 'C' ? 2 * nconv
                         : units[k] == 'g' ? MAX_HISTORY * nconv
                         : -1;
        if (!take(obj[k], &specs[k], items, &view[k]))
            return 0;
    }
    if (!grouping(view[bounds_at].buf, nconv, n)) {
        PyErr_SetString(PyExc_ValueError, "bounds: not a grouping of the rows");
        return 0;
    }
    const uint8_t *lane = view[0].buf;
    for (Py_ssize_t i = 0; i < n; i++)
        if (lane[i] > 1) {
            PyErr_SetString(PyExc_ValueError, "lane: 0 (A) or 1 (B) expected");
            return 0;
        }
    *n_out = n;
    *nconv_out = nconv;
    return 1;
}

/* ---- history (history.py) ---------------------------------------------------------------- */

/* the 1st, 10th, 100th, … occurrence */
static int power_of_ten(int64_t count)
{
    while (count >= 10 && count % 10 == 0)
        count /= 10;
    return count == 1;
}

/* one conversation's history letters, written into its row of the grid */
typedef struct {
    uint32_t *row;
    int64_t count;
    int client; /* the conversation's client lane, as given */
} Letters;

static inline void emit(Letters *h, uint32_t ch, int lane)
{
    if (lane >= 0 && lane != h->client)
        ch += 32; /* the responder's letters are lower case */
    if (h->count < MAX_HISTORY)
        h->row[h->count] = ch;
    h->count++;
}

/* what one side did so far: the once-per-side letters, the S/H, F and R sequence numbers,
 * the W and T counts */
typedef struct {
    int once[4]; /* A, D, Q, I */
    int has_syn, has_fin, has_rst;
    int64_t syn_at, fin_at, rst_at;
    int64_t zero_windows, retransmissions;
} HistorySide;

static const char ONCE_LETTERS[4] = {'A', 'D', 'Q', 'I'};

/* whether key starts a new letter of its kind (the first, or a different sequence number) */
static inline int changed(int *has, int64_t *at, int64_t key)
{
    int fresh = !*has || *at != key;
    *has = 1;
    *at = key;
    return fresh;
}

enum { H_LANE, H_FLAGS, H_REL, H_PLEN, H_WIN, H_RETRANSMITTED, H_MISSING_SIDE, H_CLIENT_LANE,
       H_BOUNDS, H_GRID, H_COUNTS, H_NARGS };

static const Spec history_specs[H_NARGS] = {
    {"lane", 'u', 1, 0},          {"flags", 'u', 2, 0},         {"rel", 'i', 8, 0},
    {"plen", 'i', 8, 0},          {"win", 'u', 2, 0},           {"retransmitted", 'b', 1, 0},
    {"missing_side", 'i', 8, 0},  {"client_lane", 'u', 1, 0},   {"bounds", 'i', 8, 0},
    {"grid", 'u', 4, 1},          {"counts", 'i', 8, 1},
};
static const char history_units[H_NARGS + 1] = "nnnnnnCcbgc";

typedef struct {
    const uint8_t *lane;
    const uint16_t *flags, *win;
    const int64_t *rel, *plen;
    const uint8_t *retransmitted;
} HistoryColumns;

static void history_of(const HistoryColumns *c, Py_ssize_t from, Py_ssize_t to,
                       const int64_t *missing, Letters *h)
{
    HistorySide sides[2];
    memset(sides, 0, sizeof(sides));
    if (to > from && h->client == 1)
        emit(h, '^', -1);
    for (Py_ssize_t i = from; i < to; i++) {
        int lane = c->lane[i];
        HistorySide *s = &sides[lane];
        unsigned f = c->flags[i];
        int syn = (f & TH_SYN) != 0, fin = (f & TH_FIN) != 0, rst = (f & TH_RST) != 0;
        int ack = (f & TH_ACK) != 0;
        int bits = syn + fin + rst;
        int64_t plen = c->plen[i];
        int once = bits > 1 ? (fin && rst ? 3 : 2)
                 : bits == 0 && plen > 0 ? 1
                 : bits == 0 && ack ? 0
                 : -1;
        if (once >= 0 && !s->once[once]) {
            s->once[once] = 1;
            emit(h, (uint32_t)ONCE_LETTERS[once], lane);
        }
        if (bits == 1) {
            if (syn && changed(&s->has_syn, &s->syn_at, c->rel[i]))
                emit(h, ack ? 'H' : 'S', lane);
            else if (fin && changed(&s->has_fin, &s->fin_at, add64(c->rel[i], plen)))
                emit(h, 'F', lane);
            else if (rst && changed(&s->has_rst, &s->rst_at, c->rel[i]))
                emit(h, 'R', lane);
        }
        if (c->win[i] == 0 && !rst && !syn && power_of_ten(++s->zero_windows))
            emit(h, 'W', lane);
        if (c->retransmitted[i] && plen > 0 && power_of_ten(++s->retransmissions))
            emit(h, 'T', lane);
    }
    for (int lane = 0; lane < 2; lane++)
        if (to > from && missing[lane] > 0)
            emit(h, 'G', lane);
}

/* history_letters(lane, flags, rel, plen, win, retransmitted, missing_side, client_lane, bounds,
 *                 grid, counts) */
static PyObject *history_letters(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *obj[H_NARGS];
    Py_buffer view[H_NARGS];
    memset(view, 0, sizeof(view));
    if (!PyArg_UnpackTuple(args, "history_letters", H_NARGS, H_NARGS, &obj[0], &obj[1],
                           &obj[2], &obj[3], &obj[4], &obj[5], &obj[6], &obj[7], &obj[8],
                           &obj[9], &obj[10]))
        return NULL;
    Py_ssize_t n, nconv;
    if (!take_all(obj, view, history_specs, history_units, H_NARGS, H_BOUNDS, &n, &nconv)) {
        release_all(view, H_NARGS);
        return NULL;
    }
    HistoryColumns c = {
        .lane = view[H_LANE].buf, .flags = view[H_FLAGS].buf, .win = view[H_WIN].buf,
        .rel = view[H_REL].buf, .plen = view[H_PLEN].buf,
        .retransmitted = view[H_RETRANSMITTED].buf,
    };
    const int64_t *bounds = view[H_BOUNDS].buf, *missing = view[H_MISSING_SIDE].buf;
    const uint8_t *client = view[H_CLIENT_LANE].buf;
    uint32_t *grid = view[H_GRID].buf;
    int64_t *counts = view[H_COUNTS].buf;
    Py_BEGIN_ALLOW_THREADS
    memset(grid, 0, (size_t)nconv * MAX_HISTORY * sizeof(uint32_t));
    for (Py_ssize_t k = 0; k < nconv; k++) {
        Letters h = {.row = grid + k * MAX_HISTORY, .count = 0, .client = client[k]};
        history_of(&c, bounds[k], bounds[k + 1], missing + 2 * k, &h);
        counts[k] = h.count;
    }
    Py_END_ALLOW_THREADS
    release_all(view, H_NARGS);
    Py_RETURN_NONE;
}

/* ---- roles and final states (events.py, automaton.py) ------------------------------------ */

enum { S_LANE, S_FLAGS, S_REL, S_PLEN, S_ACK_REL, S_BOUNDS, S_RFC_TABLE, S_ZEEK_TABLE,
       S_CLIENT_LANE, S_PARTIAL, S_FROM_SERVER, S_RFC, S_ZEEK, S_NARGS };

static const Spec state_specs[S_NARGS] = {
    {"lane", 'u', 1, 0},        {"flags", 'u', 2, 0},        {"rel", 'i', 8, 0},
    {"plen", 'i', 8, 0},        {"ack_rel", 'i', 8, 0},      {"bounds", 'i', 8, 0},
    {"rfc_table", 'i', 2, 0},   {"zeek_table", 'i', 2, 0},   {"client_lane", 'u', 1, 1},
    {"partial", 'b', 1, 1},     {"from_server", 'b', 1, 1},  {"rfc", 'i', 8, 1},
    {"zeek", 'i', 8, 1},
};
static const char state_units[S_NARGS + 1] = "nnnnnbxxccncc";

/* a transition table: next = cells[state * ncodes + code]; states are 0 .. nstates-1 */
typedef struct {
    const int16_t *cells;
    int64_t nstates, ncodes;
} Table;

/* the next state, or -1 where the table has none (a state the Python side never filled) */
static inline int64_t next_state(const Table *t, int64_t state, int code)
{
    int64_t after = t->cells[state * t->ncodes + code];
    return after >= 0 && after < t->nstates ? after : -1;
}

typedef struct {
    const uint8_t *lane;
    const uint16_t *flags;
    const int64_t *rel, *plen, *ack_rel;
} StateColumns;

/* the client lane (events.roles): the sender of the first SYN without ACK, else the receiver
 * of the first SYN-ACK, else A; partial: no SYN without ACK */
static int client_of(const StateColumns *c, Py_ssize_t from, Py_ssize_t to, int *partial)
{
    int synack_lane = -1;
    for (Py_ssize_t i = from; i < to; i++) {
        unsigned f = c->flags[i];
        if (!(f & TH_SYN))
            continue;
        if (!(f & TH_ACK)) {
            *partial = 0;
            return c->lane[i];
        }
        if (synack_lane < 0)
            synack_lane = c->lane[i];
    }
    *partial = 1;
    return synack_lane >= 0 ? 1 - synack_lane : 0;
}

/* the latest SYN and FIN a side sent: the acknowledgement numbers that acknowledge them */
typedef struct {
    int has_syn, has_fin;
    int64_t syn_acked_at, fin_acked_at;
} Sent;

/* one conversation: its roles, and both machines stepped over every packet. 0 when a table
 * has no cell for a step. */
static int states_of(const StateColumns *c, Py_ssize_t from, Py_ssize_t to, const Table *rfc,
                     const Table *zeek, int64_t rfc_initial, uint8_t *client_out,
                     uint8_t *partial_out, uint8_t *from_server, int64_t *rfc_out,
                     int64_t *zeek_out)
{
    int partial;
    int client = client_of(c, from, to, &partial);
    Sent sent[2];
    memset(sent, 0, sizeof(sent));
    int64_t rfc_state = rfc_initial, zeek_state = 0;
    for (Py_ssize_t i = from; i < to; i++) {
        int lane = c->lane[i];
        unsigned f = c->flags[i];
        int syn = (f & TH_SYN) != 0, fin = (f & TH_FIN) != 0, ack = (f & TH_ACK) != 0;
        int server = c->lane[i] != client;
        from_server[i] = (uint8_t)server;
        int code = (server ? C_FROM_SERVER : 0) | (syn ? C_SYN : 0) | (ack ? C_ACK : 0) |
                   (fin ? C_FIN : 0) | (f & TH_RST ? C_RST : 0);
        const Sent *peer = &sent[1 - lane];
        if (ack && peer->has_syn && c->ack_rel[i] >= peer->syn_acked_at)
            code |= C_ACKS_SYN;
        if (ack && peer->has_fin && c->ack_rel[i] >= peer->fin_acked_at)
            code |= C_ACKS_FIN;
        Sent *own = &sent[lane];
        if (syn) {
            own->has_syn = 1;
            own->syn_acked_at = add64(c->rel[i], 1);
        }
        if (fin) {
            own->has_fin = 1;
            own->fin_acked_at = add64(add64(c->rel[i], syn + c->plen[i]), 1);
        }
        rfc_state = next_state(rfc, rfc_state, code);
        zeek_state = next_state(zeek, zeek_state, code & ZEEK_CODE_MASK);
        if (rfc_state < 0 || zeek_state < 0)
            return 0;
    }
    *client_out = (uint8_t)client;
    *partial_out = (uint8_t)partial;
    *rfc_out = rfc_state;
    *zeek_out = zeek_state;
    return 1;
}

static int table_of(const Py_buffer *view, const char *name, int64_t ncodes, Table *table)
{
    int64_t cells = view->len / 2;
    if (ncodes <= 0 || cells % ncodes || cells == 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected states x %lld cells", name,
                     (long long)ncodes);
        return 0;
    }
    *table = (Table){.cells = view->buf, .nstates = cells / ncodes, .ncodes = ncodes};
    return 1;
}

/* final_states(lane, flags, rel, plen, ack_rel, bounds, rfc_table, zeek_table, rfc_initial,
 *              client_lane, partial, from_server, rfc, zeek) */
static PyObject *final_states(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *obj[S_NARGS];
    Py_buffer view[S_NARGS];
    long long rfc_initial;
    memset(view, 0, sizeof(view));
    if (!PyArg_ParseTuple(args, "OOOOOOOOLOOOOO:final_states", &obj[0], &obj[1], &obj[2],
                          &obj[3], &obj[4], &obj[5], &obj[6], &obj[7], &rfc_initial, &obj[8],
                          &obj[9], &obj[10], &obj[11], &obj[12]))
        return NULL;
    Py_ssize_t n, nconv;
    Table rfc, zeek;
    if (!take_all(obj, view, state_specs, state_units, S_NARGS, S_BOUNDS, &n, &nconv) ||
        !table_of(&view[S_RFC_TABLE], "rfc_table", C_ACKS_FIN * 2, &rfc) ||
        !table_of(&view[S_ZEEK_TABLE], "zeek_table", ZEEK_CODE_MASK + 1, &zeek)) {
        release_all(view, S_NARGS);
        return NULL;
    }
    if (rfc_initial < 0 || rfc_initial >= rfc.nstates) {
        release_all(view, S_NARGS);
        PyErr_SetString(PyExc_ValueError, "rfc_initial: not a state of rfc_table");
        return NULL;
    }
    StateColumns c = {
        .lane = view[S_LANE].buf, .flags = view[S_FLAGS].buf, .rel = view[S_REL].buf,
        .plen = view[S_PLEN].buf, .ack_rel = view[S_ACK_REL].buf,
    };
    const int64_t *bounds = view[S_BOUNDS].buf;
    uint8_t *client = view[S_CLIENT_LANE].buf, *partial = view[S_PARTIAL].buf;
    uint8_t *from_server = view[S_FROM_SERVER].buf;
    int64_t *rfc_out = view[S_RFC].buf, *zeek_out = view[S_ZEEK].buf;
    int ok = 1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < nconv && ok; k++)
        ok = states_of(&c, bounds[k], bounds[k + 1], &rfc, &zeek, rfc_initial, client + k,
                       partial + k, from_server, rfc_out + k, zeek_out + k);
    Py_END_ALLOW_THREADS
    release_all(view, S_NARGS);
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "a transition table has no cell for a step");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"history_letters", history_letters, METH_VARARGS,
     "history_letters(lane, flags, rel, plen, win, retransmitted, missing_side, client_lane,"
     " bounds, grid, counts) -> None\n"
     "Zeek's history letters of a batch of conversations (see engine/tcp/history.py): the"
     " first 32 of conversation k in grid[k], their number in counts[k]."},
    {"final_states", final_states, METH_VARARGS,
     "final_states(lane, flags, rel, plen, ack_rel, bounds, rfc_table, zeek_table, rfc_initial,"
     " client_lane, partial, from_server, rfc, zeek) -> None\n"
     "Roles and the final RFC and Zeek joint states of a batch of conversations (see"
     " engine/tcp/summary.py's final_states)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_states",
    "The TCP summary's state machines and Zeek history, compiled (engine/tcp/summary.py's and"
    " history.py's rules).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__states(void) { return PyModule_Create(&module); }
