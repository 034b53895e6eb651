//! `WHERE` filters, parsed by precedence climbing.
//!
//! Precedence, weakest first: `OR` (1) < `AND` (2) < `NOT` (3, prefix). [`Parser::parse_filter_at`]
//! parses one operand, then keeps taking binary operators whose precedence is at least `min`, parsing
//! each right-hand side at one level higher, so tighter operators nest deeper. Worked example,
//! `a AND b OR NOT c AND d` (`a`..`d` stand for conditions like `TAG = 'x'`):
//!
//! ```text
//! at(0): operand a
//!        AND (2 >= 0): rhs = at(3) -> b (OR is 1 < 3: stop)       lhs = And[a, b]
//!        OR  (1 >= 0): rhs = at(2):
//!                        operand NOT -> at(3) -> c                 Not(c)
//!                        AND (2 >= 2): rhs = at(3) -> d            And[Not(c), d]
//!                      lhs = Or[And[a, b], And[Not(c), d]]
//! ```
//!
//! `AND` and `OR` are n-ary: a chain of the same operator at one level extends one operand list
//! (`a AND b AND c` is `And[a, b, c]`), so chains never deepen the tree. Each call of
//! [`Parser::parse_filter_at`] counts one level of nesting (through `NOT`, parentheses and right-hand
//! sides) against [`MAX_FILTER_DEPTH`], like sqlparser-rs's `RecursionCounter`: `((((...` and
//! `NOT NOT NOT ...` become errors, never a stack overflow.

use super::literal::LiteralKind;
use super::{Parser, Result};
use crate::ast::Filter;
use crate::error::{ErrorKind, ParseError};
use crate::keyword::Keyword;
use crate::limits::MAX_FILTER_DEPTH;
use crate::span::Span;
use crate::token::Token;

/// A binary filter operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BinaryOp {
    Or,
    And,
}

impl BinaryOp {
    /// How tightly the operator binds: `OR` 1, `AND` 2.
    fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
        }
    }
}

/// How tightly prefix `NOT` binds: tighter than `AND`.
const NOT_PRECEDENCE: u8 = 3;

impl Parser<'_> {
    /// Parses a whole filter.
    pub(crate) fn parse_filter(&mut self) -> Result<Filter> {
        self.parse_filter_at(0)
    }

    /// Parses a filter whose binary operators all have precedence `min` or more, one nesting level deeper.
    fn parse_filter_at(&mut self, min: u8) -> Result<Filter> {
        if self.depth >= MAX_FILTER_DEPTH {
            let span = self.peek_span()?;
            let message = format!("filter nested too deeply: at most {MAX_FILTER_DEPTH} levels");
            return Err(ParseError::new(ErrorKind::LimitExceeded, span, self.text(span), message).into());
        }
        self.depth += 1;
        let filter = self.parse_filter_chain(min);
        self.depth -= 1;
        filter
    }

    fn parse_filter_chain(&mut self, min: u8) -> Result<Filter> {
        let mut lhs = self.parse_filter_operand()?;
        // The operator `lhs` was built with in this loop (an operand from parentheses is never extended).
        let mut chain = None;
        loop {
            let op = if self.next_is_keyword(Keyword::And)? {
                BinaryOp::And
            } else if self.next_is_keyword(Keyword::Or)? {
                BinaryOp::Or
            } else {
                return Ok(lhs);
            };
            if op.precedence() < min {
                return Ok(lhs);
            }
            self.advance()?;
            let rhs = self.parse_filter_at(op.precedence() + 1)?;
            let span = lhs.span().to(rhs.span());
            lhs = match (lhs, op) {
                (Filter::And { mut operands, .. }, BinaryOp::And) if chain == Some(op) => {
                    operands.push(rhs);
                    Filter::And { operands, span }
                }
                (Filter::Or { mut operands, .. }, BinaryOp::Or) if chain == Some(op) => {
                    operands.push(rhs);
                    Filter::Or { operands, span }
                }
                (lhs, BinaryOp::And) => Filter::And { operands: vec![lhs, rhs], span },
                (lhs, BinaryOp::Or) => Filter::Or { operands: vec![lhs, rhs], span },
            };
            chain = Some(op);
        }
    }

    /// Whether the next token is `keyword` (remembering it for errors when not).
    fn next_is_keyword(&mut self, keyword: Keyword) -> Result<bool> {
        let found = self.peek()? == Some(&Token::Keyword(keyword));
        if !found {
            self.note_expected(keyword.as_str());
        }
        Ok(found)
    }

    /// `NOT filter`, `( filter )`, `TAG = 'x'`, `TAG IN (...)` or `ITEM IN (...)`.
    fn parse_filter_operand(&mut self) -> Result<Filter> {
        let start = self.peek_span()?;
        if self.next_if_keyword(Keyword::Not)? {
            let operand = Box::new(self.parse_filter_at(NOT_PRECEDENCE)?);
            return Ok(Filter::Not { operand, span: Span::new(start.start, self.prev_end) });
        }
        if self.next_if_punct(Token::LParen, "(")? {
            let filter = self.parse_filter_at(0)?;
            self.expect_punct(Token::RParen, ")")?;
            return Ok(filter);
        }
        if self.next_if_keyword(Keyword::Tag)? {
            if self.next_if_punct(Token::Eq, "=")? {
                let tag = self.parse_literal(LiteralKind::STRING)?;
                return Ok(Filter::TagEq { tag, span: Span::new(start.start, self.prev_end) });
            }
            self.expect_keyword(Keyword::In)?;
            let tags = self.parse_literal_list(LiteralKind::STRING)?;
            return Ok(Filter::TagIn { tags, span: Span::new(start.start, self.prev_end) });
        }
        if self.next_if_keyword(Keyword::Item)? {
            self.expect_keyword(Keyword::In)?;
            let items = self.parse_literal_list(LiteralKind::KEY)?;
            return Ok(Filter::ItemIn { items, span: Span::new(start.start, self.prev_end) });
        }
        Err(self.unexpected(&[]))
    }
}
