//! Typed getters for the `WITH (...)` parameters of `TRAIN`, shared by the algorithms: each falls back to
//! the documented default when the parameter is absent, and refuses a value of the wrong type or out of
//! range with an error that names the algorithm, the parameter, what is accepted and the value given.
//! (Unknown parameter names are refused earlier, by [`super::check_parameters`].)

use std::ops::RangeInclusive;

use crate::error::{Error, Result};
use crate::value::Value;

/// The parameters given to one algorithm.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    algorithm: &'static str,
    given: &'a [(String, Value)],
}

impl<'a> Params<'a> {
    /// The parameters `given` to `algorithm` (its name, for error messages).
    pub fn new(algorithm: &'static str, given: &'a [(String, Value)]) -> Self {
        Params { algorithm, given }
    }

    /// The value given for `name` (case-insensitive), if any.
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.given.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// The error for parameter `name`, which must be `accepted` but is `got`.
    fn refuse(&self, name: &str, accepted: &str, got: &Value) -> Error {
        let shown = match got {
            Value::Text(s) => format!("'{s}'"),
            other => other.to_string(),
        };
        Error::Invalid(format!(
            "{} parameter '{name}' must be {accepted}, got {shown} ({})",
            self.algorithm,
            got.type_name()
        ))
    }

    /// A finite number greater than zero (integers convert); `default` when absent.
    pub fn positive(&self, name: &str, default: f64) -> Result<f64> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| self.refuse(name, "a positive number", v)),
        }
    }

    /// A finite number of zero or more (integers convert); `default` when absent.
    pub fn non_negative(&self, name: &str, default: f64) -> Result<f64> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| self.refuse(name, "a number of zero or more", v)),
        }
    }

    /// An integer within `range`; `default` when absent.
    pub fn integer(&self, name: &str, default: i64, range: RangeInclusive<i64>) -> Result<i64> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.as_i64().filter(|x| range.contains(x)).ok_or_else(|| {
                self.refuse(name, &format!("an integer from {} to {}", range.start(), range.end()), v)
            }),
        }
    }

    /// A random seed: an integer of zero or more; `default` when absent.
    pub fn seed(&self, name: &str, default: u64) -> Result<u64> {
        let default = i64::try_from(default).unwrap_or(i64::MAX);
        Ok(self.integer(name, default, 0..=i64::MAX)?.unsigned_abs())
    }

    /// One of the words in `choices` (case-insensitive), returned as spelled there; `default` when
    /// absent.
    pub fn word(&self, name: &str, default: &'static str, choices: &[&'static str]) -> Result<&'static str> {
        let Some(v) = self.get(name) else { return Ok(default) };
        v.as_str().and_then(|s| choices.iter().copied().find(|c| c.eq_ignore_ascii_case(s))).ok_or_else(
            || {
                let quoted: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
                self.refuse(name, &format!("one of {}", quoted.join(", ")), v)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(name: &str, v: Value) -> Vec<(String, Value)> {
        vec![(name.to_string(), v)]
    }

    fn message(r: Result<impl std::fmt::Debug>) -> String {
        r.expect_err("refused").to_string()
    }

    #[test]
    fn defaults_apply_when_absent_and_names_match_in_any_case() {
        let p = Params::new("als", &[]);
        assert_eq!(p.positive("alpha", 2.5).expect("default"), 2.5);
        assert_eq!(p.integer("factors", 64, 1..=1024).expect("default"), 64);
        assert_eq!(p.word("solver", "cg", &["cg", "cholesky"]).expect("default"), "cg");
        assert_eq!(p.seed("seed", 7).expect("default"), 7);
        let g = given("ALPHA", Value::Int(3));
        assert_eq!(Params::new("als", &g).positive("alpha", 1.0).expect("given"), 3.0);
        let g = given("solver", Value::from("Cholesky"));
        assert_eq!(
            Params::new("als", &g).word("solver", "cg", &["cg", "cholesky"]).expect("given"),
            "cholesky"
        );
    }

    #[test]
    fn errors_name_the_algorithm_parameter_range_and_value() {
        let g = given("alpha", Value::Float(-1.0));
        assert_eq!(
            message(Params::new("als", &g).positive("alpha", 1.0)),
            "als parameter 'alpha' must be a positive number, got -1 (number)"
        );
        let g = given("factors", Value::Int(0));
        assert_eq!(
            message(Params::new("bpr", &g).integer("factors", 64, 1..=1024)),
            "bpr parameter 'factors' must be an integer from 1 to 1024, got 0 (integer)"
        );
        let g = given("factors", Value::Float(8.5));
        assert!(
            message(Params::new("bpr", &g).integer("factors", 64, 1..=1024)).ends_with("got 8.5 (number)")
        );
        let g = given("solver", Value::from("lu"));
        assert_eq!(
            message(Params::new("als", &g).word("solver", "cg", &["cg", "cholesky"])),
            "als parameter 'solver' must be one of 'cg', 'cholesky', got 'lu' (string)"
        );
        let g = given("seed", Value::Int(-1));
        assert!(message(Params::new("als", &g).seed("seed", 1)).contains("'seed' must be an integer from 0"));
        let g = given("regularization", Value::Float(f64::NAN));
        assert!(message(Params::new("als", &g).non_negative("regularization", 1.0)).contains("zero or more"));
    }
}
