//! Resident identity card numbers (公民身份号码, GB 11643-1999): 6-digit area code, birth date
//! YYYYMMDD, 3-digit sequence (odd for men, even for women) and a check character computed with
//! ISO 7064 MOD 11-2. Legacy 15-digit numbers (YYMMDD, born 19xx, no check character) are
//! accepted and upgraded to 18.
//!
//! Must never: accept a number whose check character or birth date is wrong, or guess a
//! century for a 15-digit number other than 19xx (the legacy cards were issued before 2000).

/// What a valid number says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCard {
    /// Always the 18-character form, check character `X` upper case.
    pub number: String,
    /// YYYYMMDD.
    pub birth_date: String,
    /// "M" or "F".
    pub sex: &'static str,
}

/// Why a string is not a valid resident ID card number (GB 11643).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdCardError {
    /// Neither 18 characters nor 15 digits (the length found).
    #[error("an ID card number has 18 characters (or 15 digits for an old card), not {0}")]
    Length(usize),
    /// A character other than a digit, or an X not in last place of 18.
    #[error("an ID card number is digits only, with X allowed as the last of 18")]
    Characters,
    /// The embedded birth date (YYYYMMDD) is not a calendar date.
    #[error("the ID card number's birth date {0} is not a real date")]
    BirthDate(String),
    /// The ISO 7064 MOD 11-2 check character does not match: a digit was mistyped.
    #[error("the ID card number's check character is {found}, it should be {expected}: a digit was mistyped")]
    CheckDigit {
        /// The last character as typed.
        found: char,
        /// What the first 17 digits call for.
        expected: char,
    },
}

/// ISO 7064 MOD 11-2 weights for the first 17 digits (2^(17-i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character for the first 17 digits.
fn check_char(first17: &str) -> char {
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// Validates an 18-character number, or upgrades a 15-digit one; spaces around are ignored.
pub fn parse(input: &str) -> Result<IdCard, IdCardError> {
    let s = input.trim().to_ascii_uppercase();
    let n = s.chars().count();
    // Digits (and X) only, before any slicing by byte position: a pasted full-width digit or a
    // Chinese character is refused, never a panic.
    if !s.is_ascii() {
        return Err(IdCardError::Characters);
    }
    let number = match n {
        18 => {
            let (body, last) = s.split_at(17);
            if !body.bytes().all(|b| b.is_ascii_digit())
                || !last.bytes().all(|b| b.is_ascii_digit() || b == b'X')
            {
                return Err(IdCardError::Characters);
            }
            let expected = check_char(body);
            let found = last.chars().next().unwrap_or(' ');
            if found != expected {
                return Err(IdCardError::CheckDigit { found, expected });
            }
            s
        }
        15 => {
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(IdCardError::Characters);
            }
            let body = format!("{}19{}", &s[..6], &s[6..]);
            let check = check_char(&body);
            format!("{body}{check}")
        }
        other => return Err(IdCardError::Length(other)),
    };
    let birth_date = number[6..14].to_string();
    if !valid_date(&birth_date) {
        return Err(IdCardError::BirthDate(birth_date));
    }
    let sex = if (number.as_bytes()[16] - b'0') % 2 == 1 {
        "M"
    } else {
        "F"
    };
    Ok(IdCard {
        number,
        birth_date,
        sex,
    })
}

/// Whether `d` is a real calendar date YYYYMMDD between 1880 and 2099.
pub fn valid_date(d: &str) -> bool {
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (y, m, day): (u32, u32, u32) = match (d[..4].parse(), d[4..6].parse(), d[6..].parse()) {
        (Ok(y), Ok(m), Ok(day)) => (y, m, day),
        _ => return false,
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1880..=2099).contains(&y) && (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 11010519491231002X is the standard's own example (GB 11643-1999, Annex); the others were
    // computed by hand with the MOD 11-2 weights.
    #[test]
    fn valid_number_gives_birth_date_and_sex() {
        let card = parse("11010519491231002x").expect("valid");
        assert_eq!(card.number, "11010519491231002X");
        assert_eq!(card.birth_date, "19491231");
        assert_eq!(card.sex, "F");
        let man = parse(" 440524188001010014 ").expect("valid");
        assert_eq!(man.birth_date, "18800101");
        assert_eq!(man.sex, "M");
    }

    #[test]
    fn bad_check_digit_is_refused_with_the_expected_one() {
        assert_eq!(
            parse("110105194912310021"),
            Err(IdCardError::CheckDigit {
                found: '1',
                expected: 'X'
            })
        );
    }

    #[test]
    fn impossible_birth_date_is_refused() {
        // 1949-02-30 with a correct check character: the date itself is wrong.
        let body = "11010519490230002";
        let number = format!("{body}{}", check_char(body));
        assert_eq!(
            parse(&number),
            Err(IdCardError::BirthDate("19490230".into()))
        );
    }

    #[test]
    fn legacy_15_digit_number_is_upgraded() {
        // 110105491231002 is the 15-digit form of the standard's example.
        let card = parse("110105491231002").expect("valid");
        assert_eq!(card.number, "11010519491231002X");
        assert_eq!(card.birth_date, "19491231");
        assert_eq!(card.sex, "F");
    }

    #[test]
    fn wrong_length_and_letters_are_refused() {
        assert_eq!(parse("1234"), Err(IdCardError::Length(4)));
        assert_eq!(parse("1101051949123100XX"), Err(IdCardError::Characters));
        assert_eq!(parse("11010549123100X"), Err(IdCardError::Characters));
        // 18 characters with a multibyte one where the check digit's byte would be.
        assert_eq!(parse("1101051949123100王X"), Err(IdCardError::Characters));
        assert_eq!(
            parse("１１０１０５１９４９１２３１００２X"),
            Err(IdCardError::Characters)
        );
    }
}
