//! What an import file holds ([`Target`]) and how it is written ([`Format`]).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// What an import file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Interactions: user, item, optional weight and time.
    Interactions,
    /// Users, with tags.
    Users,
    /// Items, with tags.
    Items,
}

impl fmt::Display for Target {
    /// The lower-case name: `interactions`, `users`, `items`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Interactions => "interactions",
            Target::Users => "users",
            Target::Items => "items",
        })
    }
}

/// The file format of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values; fields may be quoted.
    Csv,
    /// Tab-separated values (no quoting).
    Tsv,
    /// MovieLens `::`-separated files: `ratings.dat`, `users.dat`, `movies.dat`.
    Movielens,
    /// LightGCN lines: `user item item ...`.
    Lightgcn,
}

impl Format {
    /// Every format, in the order error messages list them.
    pub const ALL: [Format; 4] = [Format::Csv, Format::Tsv, Format::Movielens, Format::Lightgcn];

    /// The lower-case name of the format.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Movielens => "movielens",
            Format::Lightgcn => "lightgcn",
        }
    }

    /// The format a file name suggests, ignoring a trailing `.gz`: `.csv` is csv; `.dat` and ML-100K's
    /// `u.data`, `u.item`, `u.user` and `u1.base` ... `ub.test` are movielens; anything else tsv.
    pub fn from_path(path: &Path) -> Format {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".csv") {
            Format::Csv
        } else if name.ends_with(".dat") || ML_100K_FILES.contains(&name) || is_ml_100k_fold(name) {
            Format::Movielens
        } else {
            Format::Tsv
        }
    }
}

/// ML-100K's files, read as `movielens` without a `FORMAT`.
const ML_100K_FILES: [&str; 3] = ["u.data", "u.item", "u.user"];

/// ML-100K's ready-made splits: `u1.base` ... `u5.test`, `ua.base`, `ub.test`.
fn is_ml_100k_fold(name: &str) -> bool {
    name.len() == 7 && name.starts_with('u') && (name.ends_with(".base") || name.ends_with(".test"))
}

impl fmt::Display for Format {
    /// The lower-case name: `csv`, `tsv`, `movielens`, `lightgcn`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    /// Parses a format name, ignoring case; the error lists the formats there are.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            format!("unknown format '{s}'; the formats are: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_lists_all() {
        for f in Format::ALL {
            assert_eq!(f.to_string().parse::<Format>(), Ok(f));
        }
        assert_eq!("TSV".parse::<Format>(), Ok(Format::Tsv));
        assert_eq!(
            "parquet".parse::<Format>(),
            Err("unknown format 'parquet'; the formats are: csv, tsv, movielens, lightgcn".to_string())
        );
        assert_eq!(Target::Items.to_string(), "items");
    }

    #[test]
    fn format_from_extension_ignores_gz() {
        assert_eq!(Format::from_path(Path::new("a/ratings.csv")), Format::Csv);
        assert_eq!(Format::from_path(Path::new("movies.CSV.gz")), Format::Csv);
        assert_eq!(Format::from_path(Path::new("ratings.dat")), Format::Movielens);
        assert_eq!(Format::from_path(Path::new("ratings.dat.gz")), Format::Movielens);
        assert_eq!(Format::from_path(Path::new("ratings.tsv.gz")), Format::Tsv);
        assert_eq!(Format::from_path(Path::new("train.txt")), Format::Tsv);
        assert_eq!(Format::from_path(Path::new("noext")), Format::Tsv);
    }
}
