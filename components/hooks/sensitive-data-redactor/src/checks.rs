//! Check digits and number-shape rules that turn "a run of digits" into
//! "a card number" or "an IBAN": without them any 16-digit order number
//! would be redacted.

/// Luhn (ISO/IEC 7812-1) over ASCII digits: every payment card passes it,
/// nine in ten random numbers fail it.
pub fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether `digits` (13–19 of them) looks like a payment card: a major
/// network's leading digit (2 Mastercard, 3 Amex/Diners/JCB, 4 Visa,
/// 5 Mastercard/Maestro, 6 Discover/UnionPay/Maestro) and a valid Luhn sum.
pub fn card(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len()) && matches!(digits[0], b'2'..=b'6') && luhn(digits)
}

/// The IBAN length for a country code (SWIFT's IBAN registry), `None` for
/// a country without IBANs. Checking the length as well as mod-97 keeps
/// product codes that happen to start with two letters and two digits out.
pub fn iban_length(country: &[u8]) -> Option<usize> {
    let len = match country {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"FO" | b"GL" | b"NL" | b"SD" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"XK" => 20,
        b"CH" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"CR" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" | b"VA" => 22,
        b"AE" | b"GI" | b"IL" | b"IQ" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"LY" | b"PT" | b"ST" => 25,
        b"IS" | b"TR" => 26,
        b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HU" | b"LB" | b"PL" | b"SV" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        _ => return None,
    };
    Some(len)
}

/// ISO 13616 check: move the first four characters to the end, turn letters
/// into 10..35, and the number mod 97 must be 1. `iban` is uppercase ASCII
/// alphanumerics without spaces. Computed digit by digit, no big integers.
pub fn iban_mod97(iban: &[u8]) -> bool {
    if iban.len() < 5
        || !iban
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut rem: u32 = 0;
    for &b in tail.iter().chain(head) {
        rem = if b.is_ascii_digit() {
            (rem * 10 + u32::from(b - b'0')) % 97
        } else {
            (rem * 100 + u32::from(b - b'A') + 10) % 97
        };
    }
    rem == 1
}

/// A US Social Security number's parts (area-group-serial) as the SSA
/// issues them: area not 000, 666 or 900–999; group not 00; serial not 0000.
pub fn ssn(area: &[u8], group: &[u8], serial: &[u8]) -> bool {
    area.len() == 3
        && group.len() == 2
        && serial.len() == 4
        && area != b"000"
        && area != b"666"
        && area[0] != b'9'
        && group != b"00"
        && serial != b"0000"
}
