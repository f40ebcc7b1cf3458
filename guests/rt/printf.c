/*
 * evsim guest runtime: a small printf on the Xen console
 * (HYPERVISOR_console_io(CONSOLEIO_write, len, buf)).
 */
#include "rt.h"

struct out {
    char *buf;
    size_t size, len; /* len counts every character, even dropped ones */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, unsigned int width, bool left,
                       char pad)
{
    size_t fill = width > n ? width - n : 0;
    /* zero padding goes after a sign: -0042 */
    if (!left && pad == '0' && n > 0 && *s == '-') {
        put(o, *s++);
        n--;
    }
    if (!left)
        while (fill--)
            put(o, pad);
    while (n--)
        put(o, *s++);
    if (left)
        while (fill--)
            put(o, ' ');
}

int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = {.buf = buf, .size = size, .len = 0};

    for (; *fmt != '\0'; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt++;

        bool left = false;
        char pad = ' ';
        for (;; fmt++) {
            if (*fmt == '-')
                left = true;
            else if (*fmt == '0')
                pad = '0';
            else
                break;
        }
        unsigned int width = 0;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (unsigned int)(*fmt++ - '0');
        int longs = 0;                       /* 0: int, 1: long / size_t, 2: long long */
        while (*fmt == 'l' || *fmt == 'z') { /* size_t is a long here */
            longs++;
            fmt++;
        }
        if (left)
            pad = ' ';

        char tmp[24];
        char *end = tmp + sizeof(tmp), *p = end;
        unsigned long long v;
        unsigned int base = 10;
        bool neg = false;

        switch (*fmt) {
        case 'd':
        case 'i': {
            long long s = longs >= 2   ? va_arg(ap, long long)
                          : longs == 1 ? va_arg(ap, long)
                                       : va_arg(ap, int);
            neg = s < 0;
            v = neg ? 0ULL - (unsigned long long)s : (unsigned long long)s;
            goto number;
        }
        case 'p':
            v = (uintptr_t)va_arg(ap, void *);
            base = 16;
            put(&o, '0');
            put(&o, 'x');
            goto number;
        case 'x':
        case 'X':
            base = 16;
            /* fall through */
        case 'u':
            v = longs >= 2   ? va_arg(ap, unsigned long long)
                : longs == 1 ? va_arg(ap, unsigned long)
                             : va_arg(ap, unsigned int);
        number : {
            const char *digits = *fmt == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
            do {
                *--p = digits[v % base];
                v /= base;
            } while (v != 0);
            if (neg)
                *--p = '-';
            put_padded(&o, p, (size_t)(end - p), width, left, pad);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (s == NULL)
                s = "(null)";
            put_padded(&o, s, strlen(s), width, left, ' ');
            break;
        }
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            put_padded(&o, tmp, 1, width, left, ' ');
            break;
        case '%':
            put(&o, '%');
            break;
        case '\0':
            fmt--; /* a lone '%' at the end */
            break;
        default: /* unknown: print it as written */
            put(&o, '%');
            put(&o, *fmt);
            break;
        }
    }

    if (size > 0)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int rt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = rt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void rt_puts(const char *s)
{
    HYPERVISOR_console_io(CONSOLEIO_write, strlen(s), s);
}

int rt_printf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = rt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if ((size_t)n >= sizeof(buf)) { /* too long: keep the line ending */
        n = sizeof(buf) - 1;
        buf[n - 1] = '\n';
    }
    HYPERVISOR_console_io(CONSOLEIO_write, (unsigned long)n, buf);
    return n;
}
