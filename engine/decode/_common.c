/*
 * The decoder's common path in one pass per packet: an EtherType link header (with up to
 * three VLAN tags), IPv4 or IPv6 without options the fast path hands on, then TCP, UDP or
 * ICMP that is not an error message. That is nearly every packet of a big capture; the numpy
 * stages (engine/decode/fast.py) take their time on the gathers and masks of each stage.
 *
 * A packet is written here only when every check the numpy stages make passes, and then with
 * exactly what they write; anything else (short, malformed, fragments, tunnels, extension
 * headers, ICMP errors, other link types and protocols) is left untouched and unmarked, for
 * the numpy stages, which remain the reference (the tests decode every capture both ways).
 * Every byte read is inside the packet's captured length (a prefetch reads nothing). The
 * membership tables (VLAN EtherTypes, IPv6 extension headers, tunnelling protocols, ICMP
 * errors) and the link types' header geometry come from Python (engine/decode/layers.py), so
 * those rules are written once.
 */
#include "../buffer_args.h"
#include "../prefetch.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define MAX_VLAN_TAGS 3
#define IPV4_HEADER 20
#define IPV6_HEADER 40
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
#define TCP_HEADER 20
/* packets ahead whose headers are fetched into the cache while this one is decoded */
#define PREFETCH_AHEAD 16
#define TCP_STREAM_FIELDS 16
#define UDP_HEADER 8
#define SHORT_HEADER 4
#define ICMP_HEADER 8
/* engine.packets.Kind */
#define KIND_TCP 1
#define KIND_UDP 2
#define KIND_ICMP 3
#define KIND_ICMPV6 4

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static inline uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t be64(const uint8_t *p) { return ((uint64_t)be32(p) << 32) | be32(p + 4); }

/* The output columns, in this order (engine/decode/common_path.py passes them). */
enum {
    C_KIND, C_ETHERTYPE, C_FAMILY, C_IP_PROTO, C_SRC_HI, C_SRC_LO, C_DST_HI, C_DST_LO,
    C_SPORT, C_DPORT, C_PAYLOAD_OFF, C_PAYLOAD_LEN, C_TCP_FLAGS, C_SEQ, C_ACK, C_WIN,
    C_TCP_HLEN, C_ICMP_TYPE, C_ICMP_CODE, C_ICMP_ID, C_ICMP_SEQ, N_COLUMNS
};
static const Spec column_specs[N_COLUMNS] = {
    {"kind", 'u', 1, 1},        {"ethertype", 'u', 2, 1},   {"family", 'u', 1, 1},
    {"ip_proto", 'u', 1, 1},    {"src_hi", 'u', 8, 1},      {"src_lo", 'u', 8, 1},
    {"dst_hi", 'u', 8, 1},      {"dst_lo", 'u', 8, 1},      {"sport", 'u', 2, 1},
    {"dport", 'u', 2, 1},       {"payload_off", 'i', 4, 1}, {"payload_len", 'i', 4, 1},
    {"tcp_flags", 'u', 2, 1},   {"seq", 'u', 4, 1},         {"ack", 'u', 4, 1},
    {"win", 'u', 2, 1},         {"tcp_hlen", 'u', 1, 1},    {"icmp_type", 'u', 1, 1},
    {"icmp_code", 'u', 1, 1},   {"icmp_id", 'u', 2, 1},     {"icmp_seq", 'u', 2, 1},
};

/* The other arguments, in order (see decode), and how many items each has: the packets' n, or
 * a table's fixed size. */
enum { A_BUF, A_POS, A_CAP, A_LINKTYPE, A_DONE, A_VLAN, A_IPV6_EXT, A_TUNNEL, A_ICMP4_ERR,
       A_ICMP6_ERR, A_LINK, NARGS };
static const Spec arg_specs[NARGS] = {
    {"buf", 'u', 1, 0},       {"pos", 'i', 8, 0},       {"cap", 'u', 4, 0},
    {"linktype", 'u', 2, 0},  {"done", 'b', 1, 1},      {"vlan", 'b', 1, 0},
    {"ipv6_ext", 'b', 1, 0},  {"tunnel", 'b', 1, 0},    {"icmp4_err", 'b', 1, 0},
    {"icmp6_err", 'b', 1, 0}, {"link", 'i', 2, 0},
};
#define PACKETS (-2) /* as many as there are packets */
static const Py_ssize_t arg_items[NARGS] = {-1, -1, PACKETS, PACKETS, PACKETS, 65536, 256, 256,
                                            256, 256, 65536 * 2};

typedef struct {
    uint8_t *kind, *family, *ip_proto, *tcp_hlen, *icmp_type, *icmp_code;
    uint16_t *ethertype, *sport, *dport, *tcp_flags, *win, *icmp_id, *icmp_seq;
    uint64_t *src_hi, *src_lo, *dst_hi, *dst_lo;
    int32_t *payload_off, *payload_len;
    uint32_t *seq, *ack;
} Columns;

typedef struct {
    const uint8_t *vlan;      /* [65536] */
    const uint8_t *ipv6_ext;  /* [256] */
    const uint8_t *tunnel;    /* [256] */
    const uint8_t *icmp4_err; /* [256] */
    const uint8_t *icmp6_err; /* [256] */
    const int16_t *link;      /* [65536][2]: EtherType offset and header length, -1 = not one */
} Rules;

/* One packet; 1 when it was written. */
static int decode_one(const uint8_t *p, int64_t cap, const Rules *r, const int16_t *geometry,
                      const Columns *c, Py_ssize_t k)
{
    int64_t type_col = geometry[0], header = geometry[1];
    if (cap < header)
        return 0;
    uint16_t etype = be16(p + type_col);
    int64_t off = header;
    for (int tag = 0; tag < MAX_VLAN_TAGS; tag++) {
        if (!r->vlan[etype] || cap < off + 4)
            break;
        etype = be16(p + off + 2);
        off += 4;
    }
    if (etype != ETH_IPV4 && etype != ETH_IPV6)
        return 0;
    const uint8_t *h = p + off;
    int64_t avail_ip = cap - off;
    int family, proto;
    int64_t l4, l4len;
    uint64_t src_hi = 0, src_lo, dst_hi = 0, dst_lo;
    if (etype == ETH_IPV4) {
        if (avail_ip < IPV4_HEADER || (h[0] >> 4) != 4)
            return 0;
        int64_t ihl = (int64_t)(h[0] & 0x0F) * 4;
        int64_t total = be16(h + 2);
        if (ihl < IPV4_HEADER || avail_ip < ihl || total == 0 || total < ihl
            || (be16(h + 6) & 0x3FFF) != 0 || r->tunnel[h[9]])
            return 0;
        family = 4;
        proto = h[9];
        src_lo = be32(h + 12);
        dst_lo = be32(h + 16);
        l4 = off + ihl;
        l4len = total - ihl;
    } else {
        if (avail_ip < IPV6_HEADER || (h[0] >> 4) != 6)
            return 0;
        int64_t plen = be16(h + 4);
        proto = h[6];
        if (plen == 0 || r->ipv6_ext[proto] || r->tunnel[proto])
            return 0;
        family = 6;
        src_hi = be64(h + 8);
        src_lo = be64(h + 16);
        dst_hi = be64(h + 24);
        dst_lo = be64(h + 32);
        l4 = off + IPV6_HEADER;
        l4len = plen;
    }
    const uint8_t *t = p + l4;
    int64_t avail = cap - l4 < l4len ? cap - l4 : l4len; /* captured, and within the IP length */
    if (proto == PROTO_TCP) {
        if (avail < TCP_STREAM_FIELDS)
            return 0;
        int64_t hlen = (int64_t)(t[12] >> 4) * 4;
        if (hlen < TCP_HEADER || hlen > avail)
            return 0;
        c->kind[k] = KIND_TCP;
        c->sport[k] = be16(t);
        c->dport[k] = be16(t + 2);
        c->seq[k] = be32(t + 4);
        c->ack[k] = be32(t + 8);
        c->tcp_hlen[k] = (uint8_t)hlen;
        c->tcp_flags[k] = (uint16_t)(((t[12] & 1) << 8) | t[13]);
        c->win[k] = be16(t + 14);
        c->payload_off[k] = (int32_t)(l4 + hlen);
        c->payload_len[k] = (int32_t)(l4len - hlen);
    } else if (proto == PROTO_UDP) {
        if (avail < UDP_HEADER)
            return 0;
        int64_t ulen = be16(t + 4);
        if (ulen < UDP_HEADER && !(ulen == 0 && family == 6))
            return 0;
        c->kind[k] = KIND_UDP;
        c->sport[k] = be16(t);
        c->dport[k] = be16(t + 2);
        c->payload_off[k] = (int32_t)(l4 + UDP_HEADER);
        int sane = ulen >= UDP_HEADER && ulen <= l4len;
        c->payload_len[k] = (int32_t)(sane ? ulen - UDP_HEADER : l4len - UDP_HEADER);
    } else if ((proto == PROTO_ICMP && family == 4) || (proto == PROTO_ICMPV6 && family == 6)) {
        if (avail < SHORT_HEADER || (family == 4 ? r->icmp4_err : r->icmp6_err)[t[0]])
            return 0;
        int full = avail >= ICMP_HEADER;
        c->kind[k] = family == 4 ? KIND_ICMP : KIND_ICMPV6;
        c->icmp_type[k] = t[0];
        c->icmp_code[k] = t[1];
        c->icmp_id[k] = full ? be16(t + 4) : 0;
        c->icmp_seq[k] = full ? be16(t + 6) : 0;
        c->payload_off[k] = (int32_t)(l4 + ICMP_HEADER);
        c->payload_len[k] = (int32_t)(l4len > ICMP_HEADER ? l4len - ICMP_HEADER : 0);
    } else {
        return 0;
    }
    c->ethertype[k] = etype;
    c->family[k] = (uint8_t)family;
    c->ip_proto[k] = (uint8_t)proto;
    c->src_hi[k] = src_hi;
    c->src_lo[k] = src_lo;
    c->dst_hi[k] = dst_hi;
    c->dst_lo[k] = dst_lo;
    return 1;
}

/* decode(buf, pos, cap, linktype, columns, done, vlan, ipv6_ext, tunnel, icmp4_err,
 *        icmp6_err, link) -> packets written, or None (nothing written) when a packet's bytes
 *        are not all inside buf
 * pos: int64 offsets of the packets in buf; cap: uint32 captured lengths; linktype: uint16;
 * columns: a tuple of the N_COLUMNS output columns (see the enum); done: bool, set for every
 * packet written here; the tables: bool by EtherType (65536) or protocol (256), and int16
 * (EtherType offset, header length) by link type. */
static PyObject *decode(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *obj[NARGS], *columns;
    Py_buffer view[NARGS], col[N_COLUMNS];
    memset(view, 0, sizeof(view));
    memset(col, 0, sizeof(col));
    PyObject *result = NULL;
    if (!PyArg_UnpackTuple(args, "decode", NARGS + 1, NARGS + 1, &obj[A_BUF], &obj[A_POS],
                           &obj[A_CAP], &obj[A_LINKTYPE], &columns, &obj[A_DONE], &obj[A_VLAN],
                           &obj[A_IPV6_EXT], &obj[A_TUNNEL], &obj[A_ICMP4_ERR],
                           &obj[A_ICMP6_ERR], &obj[A_LINK]))
        return NULL;
    Py_ssize_t n = 0;
    for (int a = 0; a < NARGS; a++) {
        Py_ssize_t items = arg_items[a] == PACKETS ? n : arg_items[a];
        if (!take(obj[a], &arg_specs[a], items, &view[a]))
            goto out;
        if (a == A_POS)
            n = view[a].len / 8;
    }
    if (!PyTuple_Check(columns) || PyTuple_GET_SIZE(columns) != N_COLUMNS) {
        PyErr_SetString(PyExc_ValueError, "columns: expected a tuple of the output columns");
        goto out;
    }
    for (int i = 0; i < N_COLUMNS; i++)
        if (!take(PyTuple_GET_ITEM(columns, i), &column_specs[i], n, &col[i]))
            goto out;
    const int64_t *at = view[A_POS].buf;
    const uint32_t *caplen = view[A_CAP].buf;
    const uint16_t *links = view[A_LINKTYPE].buf;
    uint8_t *mark = view[A_DONE].buf;
    const uint8_t *base = view[A_BUF].buf;
    for (Py_ssize_t k = 0; k < n; k++)
        if (at[k] < 0 || at[k] + (int64_t)caplen[k] > (int64_t)view[A_BUF].len) {
            result = Py_NewRef(Py_None); /* not a chunk's layout: the numpy stages decide */
            goto out;
        }
    Rules rules = {view[A_VLAN].buf, view[A_IPV6_EXT].buf, view[A_TUNNEL].buf,
                   view[A_ICMP4_ERR].buf, view[A_ICMP6_ERR].buf, view[A_LINK].buf};
    Columns c = {
        .kind = col[C_KIND].buf, .family = col[C_FAMILY].buf, .ip_proto = col[C_IP_PROTO].buf,
        .tcp_hlen = col[C_TCP_HLEN].buf, .icmp_type = col[C_ICMP_TYPE].buf,
        .icmp_code = col[C_ICMP_CODE].buf, .ethertype = col[C_ETHERTYPE].buf,
        .sport = col[C_SPORT].buf, .dport = col[C_DPORT].buf, .tcp_flags = col[C_TCP_FLAGS].buf,
        .win = col[C_WIN].buf, .icmp_id = col[C_ICMP_ID].buf, .icmp_seq = col[C_ICMP_SEQ].buf,
        .src_hi = col[C_SRC_HI].buf, .src_lo = col[C_SRC_LO].buf, .dst_hi = col[C_DST_HI].buf,
        .dst_lo = col[C_DST_LO].buf, .payload_off = col[C_PAYLOAD_OFF].buf,
        .payload_len = col[C_PAYLOAD_LEN].buf, .seq = col[C_SEQ].buf, .ack = col[C_ACK].buf,
    };
    Py_ssize_t written = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < n; k++) {
        if (k + PREFETCH_AHEAD < n) { /* a later packet's headers: two cache lines */
            PREFETCH(base + at[k + PREFETCH_AHEAD]);
            PREFETCH(base + at[k + PREFETCH_AHEAD] + 64);
        }
        const int16_t *geometry = rules.link + 2 * (Py_ssize_t)links[k];
        if (geometry[0] < 0)
            continue;
        if (decode_one(base + at[k], caplen[k], &rules, geometry, &c, k)) {
            mark[k] = 1;
            written++;
        }
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(written);
out:
    release_all(col, N_COLUMNS);
    release_all(view, NARGS);
    return result;
}

static PyMethodDef methods[] = {
    {"decode", decode, METH_VARARGS, "Decode the packets of the common shapes into columns."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_common", NULL, -1, methods};

PyMODINIT_FUNC PyInit__common(void) { return PyModule_Create(&module); }
