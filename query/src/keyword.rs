//! Keywords: the reserved words of recodb's query language.
//!
//! Keywords are matched case-insensitively without allocating ([`Keyword::from_word`] upper-cases into a
//! stack buffer). A keyword cannot be used as a model or algorithm name unless double-quoted (`"user"`);
//! option names in `WITH (...)` and `SET` accept keywords as plain words.

use std::fmt;

/// A reserved word of the query language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Keyword {
    /// `ADD`
    Add,
    /// `AGAINST`
    Against,
    /// `ALGORITHMS`
    Algorithms,
    /// `AND`
    And,
    /// `AS`
    As,
    /// `ASC`
    Asc,
    /// `AT`
    At,
    /// `BACKGROUND`
    Background,
    /// `BY`
    By,
    /// `CANCEL`
    Cancel,
    /// `CHECK`
    Check,
    /// `CLEAR`
    Clear,
    /// `CODES`
    Codes,
    /// `COLD`
    Cold,
    /// `DELETE`
    Delete,
    /// `DESC`
    Desc,
    /// `DESCRIBE`
    Describe,
    /// `DROP`
    Drop,
    /// `EVALUATE`
    Evaluate,
    /// `EXPLAIN`
    Explain,
    /// `EXPORT`
    Export,
    /// `FALSE`
    False,
    /// `FOR`
    For,
    /// `FORMAT`
    Format,
    /// `FROM`
    From,
    /// `HOLDOUT`
    Holdout,
    /// `IMPORT`
    Import,
    /// `IN`
    In,
    /// `INCLUDE`
    Include,
    /// `INSERT`
    Insert,
    /// `INTERACTION`
    Interaction,
    /// `INTERACTIONS`
    Interactions,
    /// `ITEM`
    Item,
    /// `ITEMS`
    Items,
    /// `JOB`
    Job,
    /// `JOBS`
    Jobs,
    /// `LABEL`
    Label,
    /// `LIMIT`
    Limit,
    /// `MODEL`
    Model,
    /// `MODELS`
    Models,
    /// `NOT`
    Not,
    /// `OFFSET`
    Offset,
    /// `OR`
    Or,
    /// `ORDER`
    Order,
    /// `RECOMMEND`
    Recommend,
    /// `RECOMMENDATIONS`
    Recommendations,
    /// `RERANK`
    Rerank,
    /// `SEED`
    Seed,
    /// `SEEN`
    Seen,
    /// `SET`
    Set,
    /// `SHOW`
    Show,
    /// `SIMILAR`
    Similar,
    /// `SPLIT`
    Split,
    /// `STATS`
    Stats,
    /// `TAG`
    Tag,
    /// `TAGS`
    Tags,
    /// `TO`
    To,
    /// `TOP`
    Top,
    /// `TRAIN`
    Train,
    /// `TRUE`
    True,
    /// `USER`
    User,
    /// `USERS`
    Users,
    /// `USING`
    Using,
    /// `WAIT`
    Wait,
    /// `WEIGHT`
    Weight,
    /// `WHERE`
    Where,
    /// `WITH`
    With,
}

/// Every keyword, upper-case, in alphabetical order (for tab completion).
pub const KEYWORDS: &[&str] = &[
    "ADD",
    "AGAINST",
    "ALGORITHMS",
    "AND",
    "AS",
    "ASC",
    "AT",
    "BACKGROUND",
    "BY",
    "CANCEL",
    "CHECK",
    "CLEAR",
    "CODES",
    "COLD",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DROP",
    "EVALUATE",
    "EXPLAIN",
    "EXPORT",
    "FALSE",
    "FOR",
    "FORMAT",
    "FROM",
    "HOLDOUT",
    "IMPORT",
    "IN",
    "INCLUDE",
    "INSERT",
    "INTERACTION",
    "INTERACTIONS",
    "ITEM",
    "ITEMS",
    "JOB",
    "JOBS",
    "LABEL",
    "LIMIT",
    "MODEL",
    "MODELS",
    "NOT",
    "OFFSET",
    "OR",
    "ORDER",
    "RECOMMEND",
    "RECOMMENDATIONS",
    "RERANK",
    "SEED",
    "SEEN",
    "SET",
    "SHOW",
    "SIMILAR",
    "SPLIT",
    "STATS",
    "TAG",
    "TAGS",
    "TO",
    "TOP",
    "TRAIN",
    "TRUE",
    "USER",
    "USERS",
    "USING",
    "WAIT",
    "WEIGHT",
    "WHERE",
    "WITH",
];

/// The length of the longest keyword, in bytes.
const MAX_KEYWORD_LEN: usize = 15;

impl Keyword {
    /// The keyword's canonical (upper-case) text.
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::Add => "ADD",
            Keyword::Against => "AGAINST",
            Keyword::Algorithms => "ALGORITHMS",
            Keyword::And => "AND",
            Keyword::As => "AS",
            Keyword::Asc => "ASC",
            Keyword::At => "AT",
            Keyword::Background => "BACKGROUND",
            Keyword::By => "BY",
            Keyword::Cancel => "CANCEL",
            Keyword::Check => "CHECK",
            Keyword::Clear => "CLEAR",
            Keyword::Codes => "CODES",
            Keyword::Cold => "COLD",
            Keyword::Delete => "DELETE",
            Keyword::Desc => "DESC",
            Keyword::Describe => "DESCRIBE",
            Keyword::Drop => "DROP",
            Keyword::Evaluate => "EVALUATE",
            Keyword::Explain => "EXPLAIN",
            Keyword::Export => "EXPORT",
            Keyword::False => "FALSE",
            Keyword::For => "FOR",
            Keyword::Format => "FORMAT",
            Keyword::From => "FROM",
            Keyword::Holdout => "HOLDOUT",
            Keyword::Import => "IMPORT",
            Keyword::In => "IN",
            Keyword::Include => "INCLUDE",
            Keyword::Insert => "INSERT",
            Keyword::Interaction => "INTERACTION",
            Keyword::Interactions => "INTERACTIONS",
            Keyword::Item => "ITEM",
            Keyword::Items => "ITEMS",
            Keyword::Job => "JOB",
            Keyword::Jobs => "JOBS",
            Keyword::Label => "LABEL",
            Keyword::Limit => "LIMIT",
            Keyword::Model => "MODEL",
            Keyword::Models => "MODELS",
            Keyword::Not => "NOT",
            Keyword::Offset => "OFFSET",
            Keyword::Or => "OR",
            Keyword::Order => "ORDER",
            Keyword::Recommend => "RECOMMEND",
            Keyword::Recommendations => "RECOMMENDATIONS",
            Keyword::Rerank => "RERANK",
            Keyword::Seed => "SEED",
            Keyword::Seen => "SEEN",
            Keyword::Set => "SET",
            Keyword::Show => "SHOW",
            Keyword::Similar => "SIMILAR",
            Keyword::Split => "SPLIT",
            Keyword::Stats => "STATS",
            Keyword::Tag => "TAG",
            Keyword::Tags => "TAGS",
            Keyword::To => "TO",
            Keyword::Top => "TOP",
            Keyword::Train => "TRAIN",
            Keyword::True => "TRUE",
            Keyword::User => "USER",
            Keyword::Users => "USERS",
            Keyword::Using => "USING",
            Keyword::Wait => "WAIT",
            Keyword::Weight => "WEIGHT",
            Keyword::Where => "WHERE",
            Keyword::With => "WITH",
        }
    }

    /// The keyword spelled by `word`, in any case, or `None` if `word` is not a keyword. Does not allocate.
    pub fn from_word(word: &str) -> Option<Keyword> {
        let bytes = word.as_bytes();
        if bytes.len() < 2 || bytes.len() > MAX_KEYWORD_LEN {
            return None;
        }
        let mut buf = [0u8; MAX_KEYWORD_LEN];
        for (upper, byte) in buf.iter_mut().zip(bytes) {
            *upper = byte.to_ascii_uppercase();
        }
        let keyword = match &buf[..bytes.len()] {
            b"ADD" => Keyword::Add,
            b"AGAINST" => Keyword::Against,
            b"ALGORITHMS" => Keyword::Algorithms,
            b"AND" => Keyword::And,
            b"AS" => Keyword::As,
            b"ASC" => Keyword::Asc,
            b"AT" => Keyword::At,
            b"BACKGROUND" => Keyword::Background,
            b"BY" => Keyword::By,
            b"CANCEL" => Keyword::Cancel,
            b"CHECK" => Keyword::Check,
            b"CLEAR" => Keyword::Clear,
            b"CODES" => Keyword::Codes,
            b"COLD" => Keyword::Cold,
            b"DELETE" => Keyword::Delete,
            b"DESC" => Keyword::Desc,
            b"DESCRIBE" => Keyword::Describe,
            b"DROP" => Keyword::Drop,
            b"EVALUATE" => Keyword::Evaluate,
            b"EXPLAIN" => Keyword::Explain,
            b"EXPORT" => Keyword::Export,
            b"FALSE" => Keyword::False,
            b"FOR" => Keyword::For,
            b"FORMAT" => Keyword::Format,
            b"FROM" => Keyword::From,
            b"HOLDOUT" => Keyword::Holdout,
            b"IMPORT" => Keyword::Import,
            b"IN" => Keyword::In,
            b"INCLUDE" => Keyword::Include,
            b"INSERT" => Keyword::Insert,
            b"INTERACTION" => Keyword::Interaction,
            b"INTERACTIONS" => Keyword::Interactions,
            b"ITEM" => Keyword::Item,
            b"ITEMS" => Keyword::Items,
            b"JOB" => Keyword::Job,
            b"JOBS" => Keyword::Jobs,
            b"LABEL" => Keyword::Label,
            b"LIMIT" => Keyword::Limit,
            b"MODEL" => Keyword::Model,
            b"MODELS" => Keyword::Models,
            b"NOT" => Keyword::Not,
            b"OFFSET" => Keyword::Offset,
            b"OR" => Keyword::Or,
            b"ORDER" => Keyword::Order,
            b"RECOMMEND" => Keyword::Recommend,
            b"RECOMMENDATIONS" => Keyword::Recommendations,
            b"RERANK" => Keyword::Rerank,
            b"SEED" => Keyword::Seed,
            b"SEEN" => Keyword::Seen,
            b"SET" => Keyword::Set,
            b"SHOW" => Keyword::Show,
            b"SIMILAR" => Keyword::Similar,
            b"SPLIT" => Keyword::Split,
            b"STATS" => Keyword::Stats,
            b"TAG" => Keyword::Tag,
            b"TAGS" => Keyword::Tags,
            b"TO" => Keyword::To,
            b"TOP" => Keyword::Top,
            b"TRAIN" => Keyword::Train,
            b"TRUE" => Keyword::True,
            b"USER" => Keyword::User,
            b"USERS" => Keyword::Users,
            b"USING" => Keyword::Using,
            b"WAIT" => Keyword::Wait,
            b"WEIGHT" => Keyword::Weight,
            b"WHERE" => Keyword::Where,
            b"WITH" => Keyword::With,
            _ => return None,
        };
        Some(keyword)
    }
}

/// Prints the keyword in upper case, as the canonical printer does.
impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_keyword_round_trips_in_any_case() {
        for word in KEYWORDS {
            let keyword = Keyword::from_word(word).expect("listed keyword");
            assert_eq!(keyword.as_str(), *word);
            assert_eq!(Keyword::from_word(&word.to_ascii_lowercase()), Some(keyword));
        }
        assert!(KEYWORDS.windows(2).all(|pair| pair[0] < pair[1]), "sorted, no duplicates");
    }

    #[test]
    fn non_keywords_are_rejected() {
        for word in ["", "a", "dsiml", "TOPP", "recommendationsx", "userß"] {
            assert_eq!(Keyword::from_word(word), None, "{word}");
        }
    }
}
