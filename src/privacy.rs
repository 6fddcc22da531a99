//! Masking of personal data for public lists (公示) and logs.
//!
//! Both functions work on `char`s, never bytes, so Chinese names and
//! full-width digits are masked whole.

/// Masks a person's name for public display: 刘德兵 → 刘*兵, 欧阳小明 → 欧**明,
/// 刘兵 → 刘*; a one-character name is left as it is.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.as_slice() {
        [] | [_] => chars.iter().collect(),
        [first, _] => format!("{first}*"),
        [first, middle @ .., last] => {
            format!("{first}{}{last}", "*".repeat(middle.len()))
        }
    }
}

/// Keeps the first 3 and last 4 characters of a phone number (138****5678);
/// anything too short to hide at least one character is masked entirely.
pub fn mask_phone(phone: &str) -> String {
    const HEAD: usize = 3;
    const TAIL: usize = 4;
    let chars: Vec<char> = phone.trim().chars().collect();
    if chars.len() <= HEAD + TAIL {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..HEAD].iter().collect();
    let tail: String = chars[chars.len() - TAIL..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - HEAD - TAIL))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(mask_name("刘德兵"), "刘*兵");
        assert_eq!(mask_name("欧阳小明"), "欧**明");
        assert_eq!(mask_name("刘兵"), "刘*");
        assert_eq!(mask_name("兵"), "兵");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name(" 张三丰 "), "张*丰");
        assert_eq!(mask_name("阿依古丽·买买提"), "阿******提");
        assert_eq!(mask_name("Li Lei"), "L****i");
    }

    #[test]
    fn phones() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0716-2345678"), "071*****5678");
        assert_eq!(mask_phone("12345678"), "123*5678");
        assert_eq!(mask_phone("1234567"), "*******");
        assert_eq!(mask_phone("110"), "***");
        assert_eq!(mask_phone(""), "");
    }
}
