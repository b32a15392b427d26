"""Numbers written in Chinese numerals: article and heading numbers (第二十三条), dates (二〇二四年三月十五日),
years and five-year-plan periods (到一九八五年, 到“十四五”末), which governance documents write as often as
Arabic digits."""
from __future__ import annotations

DIGITS = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
          "九": 9}


def cn_number(s: str) -> int | None:
    """Arabic or Chinese numerals, counted (一, 十, 十二, 二十三, 一百零五) or digit by digit (一九八五, 二〇二四);
    None when s is neither."""
    s = s.strip()
    if s.isdigit():
        return int(s)
    if not s or any(c not in DIGITS and c not in "十百" for c in s):
        return None
    total, current = 0, 0
    for c in s:
        if c == "百":
            total += (current or 1) * 100
            current = 0
        elif c == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = current * 10 + DIGITS[c] if current else DIGITS[c]
    return total + current


def plan_end_year(n: int) -> int:
    """The last year of the n-th five-year plan (一五 1953-1957, 二五 1958-1962; from the third, 1966-1970,
    they follow one another: 十四五 2021-2025)."""
    return {1: 1957, 2: 1962}.get(n, 1955 + 5 * n)
