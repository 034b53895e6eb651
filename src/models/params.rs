//! The parameters of the algorithms, declared once as data.
//!
//! Each algorithm lists its `WITH (...)` parameters as a table of [`Param`]s: name, type and accepted
//! range ([`Kind`]), default and a one-line description. Everything else follows from the table:
//! validation of what `TRAIN` is given ([`Params::check`], with positioned errors and "did you mean"
//! for misspelt names), the typed values training reads ([`Params::int`], [`Params::float`], ...),
//! `SHOW ALGORITHMS`, the shell's `.help TRAIN` and the parameter table of README.md (a test checks
//! that README.md shows exactly this table).
//!
//! Adding a parameter is one row in the algorithm's table, read where it is used:
//!
//! ```text
//! Param::int("negatives", 5, 1, 100, "negatives per positive"),      // in dsiml's PARAMETERS
//! let negatives = params.int("negatives")? as usize;                  // in its training
//! ```

use crate::error::{Error, Object, Result};
use crate::value::Value;

/// The type, range and default of a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// An integer from `min` to `max` that is a multiple of `step` (1 for any).
    Int {
        /// The default.
        default: i64,
        /// The smallest accepted.
        min: i64,
        /// The largest accepted.
        max: i64,
        /// Accepted values are multiples of it.
        step: i64,
    },
    /// An integer from `min` to `max`, or absent: the algorithm then chooses (`auto`).
    Auto {
        /// The smallest accepted.
        min: i64,
        /// The largest accepted.
        max: i64,
    },
    /// A finite number greater than zero (`positive`) or of zero or more; integers convert.
    Float {
        /// The default.
        default: f64,
        /// Whether zero is refused.
        positive: bool,
    },
    /// Any finite number (negative too); integers convert.
    Number {
        /// The default.
        default: f64,
    },
    /// A number greater than 0 and at most 1, or absent when `default` is `None`: the algorithm then
    /// chooses (`auto`).
    Fraction {
        /// The default (`None`: auto).
        default: Option<f64>,
    },
    /// `TRUE`/`FALSE` (or the words `'true'`/`'false'`).
    Bool {
        /// The default.
        default: bool,
    },
    /// One of a few words, matched in any case.
    Choice {
        /// The default.
        default: &'static str,
        /// The accepted words.
        choices: &'static [&'static str],
    },
}

/// One parameter of an algorithm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Param {
    /// Its name in `WITH (...)`.
    pub name: &'static str,
    /// Its type, range and default.
    pub kind: Kind,
    /// What it does, in one line.
    pub doc: &'static str,
}

impl Param {
    /// An integer parameter from `min` to `max`.
    pub const fn int(name: &'static str, default: i64, min: i64, max: i64, doc: &'static str) -> Param {
        Param { name, kind: Kind::Int { default, min, max, step: 1 }, doc }
    }

    /// A seed: an integer of zero or more.
    pub const fn seed(name: &'static str, default: i64, doc: &'static str) -> Param {
        Param { name, kind: Kind::Int { default, min: 0, max: i64::MAX, step: 1 }, doc }
    }

    /// A number greater than zero.
    pub const fn positive(name: &'static str, default: f64, doc: &'static str) -> Param {
        Param { name, kind: Kind::Float { default, positive: true }, doc }
    }

    /// A number of zero or more.
    pub const fn non_negative(name: &'static str, default: f64, doc: &'static str) -> Param {
        Param { name, kind: Kind::Float { default, positive: false }, doc }
    }

    /// Any finite number, negative too.
    pub const fn number(name: &'static str, default: f64, doc: &'static str) -> Param {
        Param { name, kind: Kind::Number { default }, doc }
    }

    /// A number greater than 0 and at most 1; `None` when the algorithm chooses it (`auto`).
    pub const fn fraction(name: &'static str, default: Option<f64>, doc: &'static str) -> Param {
        Param { name, kind: Kind::Fraction { default }, doc }
    }

    /// A boolean.
    pub const fn flag(name: &'static str, default: bool, doc: &'static str) -> Param {
        Param { name, kind: Kind::Bool { default }, doc }
    }

    /// One of `choices`.
    pub const fn choice(
        name: &'static str,
        default: &'static str,
        choices: &'static [&'static str],
        doc: &'static str,
    ) -> Param {
        Param { name, kind: Kind::Choice { default, choices }, doc }
    }

    /// The type as SHOW ALGORITHMS prints it.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Int { .. } | Kind::Auto { .. } => "integer",
            Kind::Float { .. } | Kind::Number { .. } | Kind::Fraction { .. } => "number",
            Kind::Bool { .. } => "boolean",
            Kind::Choice { .. } => "choice",
        }
    }

    /// The default as SHOW ALGORITHMS prints it (`auto` when the algorithm chooses).
    pub fn default_text(&self) -> String {
        match self.kind {
            Kind::Int { default, .. } => default.to_string(),
            Kind::Auto { .. } => "auto".into(),
            Kind::Float { default, .. } | Kind::Number { default } => number(default),
            Kind::Fraction { default } => default.map_or_else(|| "auto".into(), number),
            Kind::Bool { default } => default.to_string(),
            Kind::Choice { default, .. } => format!("'{default}'"),
        }
    }

    /// What is accepted, as SHOW ALGORITHMS and error messages say it.
    pub fn accepted(&self) -> String {
        match self.kind {
            Kind::Int { min: 0, max: i64::MAX, .. } => "an integer of zero or more".into(),
            Kind::Int { min, max, step: 1, .. } | Kind::Auto { min, max } => {
                format!("an integer from {min} to {max}")
            }
            Kind::Int { min, max, step, .. } => format!("a multiple of {step} from {min} to {max}"),
            Kind::Float { positive: true, .. } => "a positive number".into(),
            Kind::Float { positive: false, .. } => "a number of zero or more".into(),
            Kind::Number { .. } => "a number".into(),
            Kind::Fraction { .. } => "a number greater than 0 and at most 1".into(),
            Kind::Bool { .. } => "true or false".into(),
            Kind::Choice { choices, .. } => {
                let quoted: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
                format!("one of {}", quoted.join(", "))
            }
        }
    }

    /// `value` if this parameter accepts it, converted to the parameter's type; `None` otherwise.
    fn accept(&self, value: &Value) -> Option<Value> {
        match self.kind {
            Kind::Int { min, max, step, .. } => value
                .as_i64()
                .filter(|x| (min..=max).contains(x) && (x - min) % step.max(1) == 0)
                .map(Value::Int),
            Kind::Auto { min, max } => value.as_i64().filter(|x| (min..=max).contains(x)).map(Value::Int),
            Kind::Float { positive, .. } => value
                .as_f64()
                .filter(|x| x.is_finite() && (*x > 0.0 || (!positive && *x == 0.0)))
                .map(Value::Float),
            Kind::Number { .. } => value.as_f64().filter(|x| x.is_finite()).map(Value::Float),
            Kind::Fraction { .. } => value.as_f64().filter(|x| *x > 0.0 && *x <= 1.0).map(Value::Float),
            Kind::Bool { .. } => match value {
                Value::Bool(b) => Some(Value::Bool(*b)),
                Value::Text(t) if t.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
                Value::Text(t) if t.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
                _ => None,
            },
            Kind::Choice { choices, .. } => value
                .as_str()
                .and_then(|s| choices.iter().find(|c| c.eq_ignore_ascii_case(s)))
                .map(|c| Value::from(*c)),
        }
    }
}

/// A float for people: up to six significant digits, no trailing zeros.
fn number(x: f64) -> String {
    let text = format!("{x:.6}");
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() || trimmed == "-" {
        "0".into()
    } else {
        trimmed.to_string()
    }
}

/// The parameters given to one algorithm, checked against its table: every name is declared and every
/// value accepted. Getters return the given value, or the declared default when absent.
#[derive(Debug, Clone)]
pub struct Params {
    algorithm: &'static str,
    table: &'static [Param],
    given: Vec<(&'static str, Value)>,
}

impl Params {
    /// Checks `given` against `table` (the parameters of `algorithm`). An unknown name is a
    /// [`NotFound`](crate::ErrorKind::NotFound) of a parameter, with a suggestion when one is close; a
    /// value of the wrong type or out of range an [`InvalidArgument`](crate::ErrorKind::InvalidArgument)
    /// named after the parameter; a parameter given twice, the latter.
    pub fn check(
        algorithm: &'static str,
        table: &'static [Param],
        given: &[(String, Value)],
    ) -> Result<Params> {
        let mut checked: Vec<(&'static str, Value)> = Vec::with_capacity(given.len());
        for (name, value) in given {
            let Some(param) = table.iter().find(|p| p.name.eq_ignore_ascii_case(name)) else {
                let names: Vec<&str> = table.iter().map(|p| p.name).collect();
                let listed = if names.is_empty() { "none".to_string() } else { names.join(", ") };
                return Err(Error::not_found(
                    Object::Parameter,
                    name.as_str(),
                    format!("unknown parameter '{name}' for {algorithm}"),
                    names.iter().copied(),
                    &format!("its parameters: {listed}"),
                ));
            };
            if checked.iter().any(|(n, _)| *n == param.name) {
                return Err(Error::invalid(param.name, "given once", "a second value").in_context(algorithm));
            }
            let shown = match value {
                Value::Text(s) => format!("'{s}'"),
                other => other.to_string(),
            };
            let accepted = param
                .accept(value)
                .ok_or_else(|| Error::invalid(param.name, param.accepted(), shown).in_context(algorithm))?;
            checked.push((param.name, accepted));
        }
        Ok(Params { algorithm, table, given: checked })
    }

    /// The declared parameter `name` and the value given for it, if any; an internal error when the
    /// algorithm reads a parameter it did not declare.
    fn lookup(&self, name: &str) -> Result<(&'static Param, Option<&Value>)> {
        let param = self.table.iter().find(|p| p.name == name).ok_or_else(|| {
            Error::internal(format!("{} reads parameter '{name}', which it does not declare", self.algorithm))
        })?;
        Ok((param, self.given.iter().find(|(n, _)| *n == name).map(|(_, v)| v)))
    }

    /// An integer parameter.
    pub fn int(&self, name: &str) -> Result<i64> {
        match self.lookup(name)? {
            (_, Some(v)) => v.as_i64().ok_or_else(|| self.mistyped(name)),
            (Param { kind: Kind::Int { default, .. }, .. }, None) => Ok(*default),
            _ => Err(self.mistyped(name)),
        }
    }

    /// An integer parameter the algorithm chooses when absent (`None`).
    pub fn auto(&self, name: &str) -> Result<Option<i64>> {
        match self.lookup(name)? {
            (_, Some(v)) => v.as_i64().map(Some).ok_or_else(|| self.mistyped(name)),
            (Param { kind: Kind::Auto { .. }, .. }, None) => Ok(None),
            _ => Err(self.mistyped(name)),
        }
    }

    /// A seed (an integer of zero or more).
    pub fn seed(&self, name: &str) -> Result<u64> {
        u64::try_from(self.int(name)?).map_err(|_| self.mistyped(name))
    }

    /// A number parameter.
    pub fn float(&self, name: &str) -> Result<f64> {
        self.auto_float(name)?.ok_or_else(|| self.mistyped(name))
    }

    /// A number parameter the algorithm chooses when absent (`None`: a fraction declared `auto`).
    pub fn auto_float(&self, name: &str) -> Result<Option<f64>> {
        match self.lookup(name)? {
            (_, Some(v)) => v.as_f64().map(Some).ok_or_else(|| self.mistyped(name)),
            (Param { kind: Kind::Float { default, .. } | Kind::Number { default }, .. }, None) => {
                Ok(Some(*default))
            }
            (Param { kind: Kind::Fraction { default }, .. }, None) => Ok(*default),
            _ => Err(self.mistyped(name)),
        }
    }

    /// A boolean parameter.
    pub fn flag(&self, name: &str) -> Result<bool> {
        match self.lookup(name)? {
            (_, Some(v)) => v.as_bool().ok_or_else(|| self.mistyped(name)),
            (Param { kind: Kind::Bool { default }, .. }, None) => Ok(*default),
            _ => Err(self.mistyped(name)),
        }
    }

    /// A choice parameter, spelled as in its table.
    pub fn choice(&self, name: &str) -> Result<&'static str> {
        let (param, given) = self.lookup(name)?;
        let Kind::Choice { default, choices } = param.kind else { return Err(self.mistyped(name)) };
        match given {
            None => Ok(default),
            Some(v) => v
                .as_str()
                .and_then(|s| choices.iter().copied().find(|c| *c == s))
                .ok_or_else(|| self.mistyped(name)),
        }
    }

    /// The parameters given, as `(name, value)` text pairs for the model's record.
    pub fn given(&self) -> Vec<(String, String)> {
        self.given.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    fn mistyped(&self, name: &str) -> Error {
        Error::internal(format!(
            "{} reads parameter '{name}' as another type than it declares",
            self.algorithm
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const TABLE: &[Param] = &[
        Param::int("factors", 64, 1, 1024, "vector length"),
        Param {
            name: "bits",
            kind: Kind::Int { default: 64, min: 8, max: 256, step: 8 },
            doc: "code length",
        },
        Param { name: "tables", kind: Kind::Auto { min: 1, max: 64 }, doc: "tables" },
        Param::positive("alpha", 2.5, "confidence"),
        Param::non_negative("regularization", 0.0004, "L2"),
        Param::flag("keep_real", false, "keep vectors"),
        Param::choice("solver", "cg", &["cg", "cholesky"], "solver"),
        Param::seed("seed", 42, "seed"),
        Param::number("shift", -0.5, "any number"),
        Param::fraction("share", Some(0.25), "a fraction"),
        Param::fraction("ratio", None, "a fraction or auto"),
    ];

    fn check(pairs: &[(&str, Value)]) -> Result<Params> {
        let given: Vec<(String, Value)> = pairs.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
        Params::check("als", TABLE, &given)
    }

    #[test]
    fn defaults_apply_when_absent_and_names_match_in_any_case() {
        let p = check(&[]).expect("nothing given");
        assert_eq!(p.int("factors").expect("default"), 64);
        assert_eq!(p.auto("tables").expect("default"), None);
        assert_eq!(p.float("alpha").expect("default"), 2.5);
        assert!(!p.flag("keep_real").expect("default"));
        assert_eq!(p.choice("solver").expect("default"), "cg");
        assert_eq!(p.seed("seed").expect("default"), 42);
        assert_eq!(p.float("shift").expect("default"), -0.5);
        assert_eq!(p.float("share").expect("default"), 0.25);
        assert_eq!(p.auto_float("ratio").expect("default"), None);
        assert!(matches!(p.float("ratio").expect_err("auto").kind(), ErrorKind::Internal(_)));
        let p = check(&[("shift", Value::Int(-3)), ("share", Value::Int(1)), ("ratio", Value::Float(0.05))])
            .expect("valid");
        assert_eq!(p.float("shift").expect("given"), -3.0);
        assert_eq!(p.float("share").expect("given"), 1.0);
        assert_eq!(p.auto_float("ratio").expect("given"), Some(0.05));
        let p = check(&[
            ("ALPHA", Value::Int(3)),
            ("solver", Value::from("Cholesky")),
            ("keep_real", Value::from("TRUE")),
            ("tables", Value::Int(4)),
            ("bits", Value::Int(24)),
        ])
        .expect("valid");
        assert_eq!(p.float("alpha").expect("given"), 3.0);
        assert_eq!(p.choice("solver").expect("given"), "cholesky");
        assert!(p.flag("keep_real").expect("given"));
        assert_eq!(p.auto("tables").expect("given"), Some(4));
        assert_eq!(p.int("bits").expect("given"), 24);
        assert_eq!(
            p.given(),
            vec![
                ("alpha".to_string(), "3".to_string()),
                ("solver".into(), "cholesky".into()),
                ("keep_real".into(), "true".into()),
                ("tables".into(), "4".into()),
                ("bits".into(), "24".into()),
            ]
        );
    }

    #[test]
    fn bad_values_are_invalid_arguments_named_after_the_parameter() {
        let cases = [
            (("alpha", Value::Float(-1.0)), "alpha must be a positive number, got -1 (for als)"),
            (("factors", Value::Int(0)), "factors must be an integer from 1 to 1024, got 0 (for als)"),
            (("factors", Value::Float(8.5)), "factors must be an integer from 1 to 1024, got 8.5 (for als)"),
            (("bits", Value::Int(12)), "bits must be a multiple of 8 from 8 to 256, got 12 (for als)"),
            (("solver", Value::from("lu")), "solver must be one of 'cg', 'cholesky', got 'lu' (for als)"),
            (("seed", Value::Int(-1)), "seed must be an integer of zero or more, got -1 (for als)"),
            (
                ("regularization", Value::Float(f64::NAN)),
                "regularization must be a number of zero or more, got NaN (for als)",
            ),
            (("keep_real", Value::Int(1)), "keep_real must be true or false, got 1 (for als)"),
            (("shift", Value::Float(f64::INFINITY)), "shift must be a number, got inf (for als)"),
            (
                ("share", Value::Float(0.0)),
                "share must be a number greater than 0 and at most 1, got 0 (for als)",
            ),
            (
                ("ratio", Value::Float(1.5)),
                "ratio must be a number greater than 0 and at most 1, got 1.5 (for als)",
            ),
        ];
        for ((name, value), expected) in cases {
            let err = check(&[(name, value)]).expect_err(expected);
            assert!(matches!(err.kind(), ErrorKind::InvalidArgument { name: n, .. } if n == name), "{err:?}");
            assert_eq!(err.message(), expected);
        }
        let err = check(&[("seed", Value::Int(1)), ("SEED", Value::Int(2))]).expect_err("twice");
        assert_eq!(err.message(), "seed must be given once, got a second value (for als)");
    }

    #[test]
    fn unknown_names_are_not_found_with_a_suggestion() {
        let err = check(&[("alpah", Value::Int(1))]).expect_err("misspelt");
        assert!(
            matches!(err.kind(), ErrorKind::NotFound { what: Object::Parameter, key, .. } if key == "alpah")
        );
        assert_eq!(err.suggestion(), Some("alpha"));
        assert!(
            err.message().starts_with("unknown parameter 'alpah' for als; did you mean 'alpha'?"),
            "{err}"
        );
        let err = Params::check("pop", &[], &[("bits".into(), Value::Int(1))]).expect_err("none");
        assert_eq!(err.message(), "unknown parameter 'bits' for pop (its parameters: none)");
    }

    #[test]
    fn reading_an_undeclared_parameter_is_an_internal_error() {
        let p = check(&[]).expect("nothing given");
        assert!(matches!(p.int("nope").expect_err("undeclared").kind(), ErrorKind::Internal(_)));
        assert!(matches!(p.float("factors").expect_err("mistyped").kind(), ErrorKind::Internal(_)));
    }

    #[test]
    fn the_table_describes_each_parameter() {
        let shown: Vec<(String, String, &str)> =
            TABLE.iter().map(|p| (p.default_text(), p.accepted(), p.type_name())).collect();
        assert_eq!(shown[0], ("64".into(), "an integer from 1 to 1024".into(), "integer"));
        assert_eq!(shown[2], ("auto".into(), "an integer from 1 to 64".into(), "integer"));
        assert_eq!(shown[4], ("0.0004".into(), "a number of zero or more".into(), "number"));
        assert_eq!(shown[6], ("'cg'".into(), "one of 'cg', 'cholesky'".into(), "choice"));
        assert_eq!(shown[8], ("-0.5".into(), "a number".into(), "number"));
        assert_eq!(shown[10], ("auto".into(), "a number greater than 0 and at most 1".into(), "number"));
        assert_eq!(number(std::f64::consts::SQRT_2), "1.414214");
        assert_eq!(number(500.0), "500");
    }
}
