//! Statements about models, jobs and settings: TRAIN, SHOW, DESCRIBE, DROP, CANCEL, WAIT, SET.

use super::literal::LiteralKind;
use super::{Parser, Result};
use crate::ast::{DescribeTarget, ShowObject, StatementKind};
use crate::keyword::Keyword;
use crate::token::Token;

impl Parser<'_> {
    /// `TRAIN algorithm [AS name] [WITH (param = value, ...)] [BACKGROUND]`, after `TRAIN`.
    pub(crate) fn parse_train(&mut self) -> Result<StatementKind> {
        let algorithm = self.parse_name()?;
        let name = self.parse_opt_name(Keyword::As)?;
        let options = self.parse_with_options()?;
        let background = self.next_if_keyword(Keyword::Background)?;
        Ok(StatementKind::Train { algorithm, name, options, background })
    }

    /// `SHOW USERS|ITEMS|TAGS|MODELS|JOBS|STATS|ALGORITHMS [LIMIT n]`, after `SHOW`.
    pub(crate) fn parse_show(&mut self) -> Result<StatementKind> {
        const OBJECTS: [(Keyword, ShowObject); 7] = [
            (Keyword::Users, ShowObject::Users),
            (Keyword::Items, ShowObject::Items),
            (Keyword::Tags, ShowObject::Tags),
            (Keyword::Models, ShowObject::Models),
            (Keyword::Jobs, ShowObject::Jobs),
            (Keyword::Stats, ShowObject::Stats),
            (Keyword::Algorithms, ShowObject::Algorithms),
        ];
        let mut object = None;
        for (keyword, candidate) in OBJECTS {
            if self.next_if_keyword(keyword)? {
                object = Some(candidate);
                break;
            }
        }
        let Some(object) = object else {
            return Err(self.unexpected(&[]));
        };
        let limit = self.parse_opt_literal(Keyword::Limit, LiteralKind::COUNT)?;
        Ok(StatementKind::Show { object, limit })
    }

    /// `DESCRIBE USER key`, `DESCRIBE ITEM key` or `DESCRIBE MODEL name`, after `DESCRIBE`.
    pub(crate) fn parse_describe(&mut self) -> Result<StatementKind> {
        let target = if self.next_if_keyword(Keyword::User)? {
            DescribeTarget::User(self.parse_literal(LiteralKind::KEY)?)
        } else if self.next_if_keyword(Keyword::Item)? {
            DescribeTarget::Item(self.parse_literal(LiteralKind::KEY)?)
        } else if self.next_if_keyword(Keyword::Model)? {
            DescribeTarget::Model(self.parse_name()?)
        } else {
            return Err(self.unexpected(&[]));
        };
        Ok(StatementKind::Describe(target))
    }

    /// `DROP MODEL name`, after `DROP`.
    pub(crate) fn parse_drop(&mut self) -> Result<StatementKind> {
        self.expect_keyword(Keyword::Model)?;
        Ok(StatementKind::DropModel { name: self.parse_name()? })
    }

    /// `CANCEL JOB id`, after `CANCEL`.
    pub(crate) fn parse_cancel(&mut self) -> Result<StatementKind> {
        self.expect_keyword(Keyword::Job)?;
        Ok(StatementKind::CancelJob { job: self.parse_literal(LiteralKind::COUNT)? })
    }

    /// `WAIT JOB id`, after `WAIT`.
    pub(crate) fn parse_wait(&mut self) -> Result<StatementKind> {
        self.expect_keyword(Keyword::Job)?;
        Ok(StatementKind::WaitJob { job: self.parse_literal(LiteralKind::COUNT)? })
    }

    /// `SET option = value`, after `SET`.
    pub(crate) fn parse_set(&mut self) -> Result<StatementKind> {
        let name = self.parse_option_name()?;
        self.expect_punct(Token::Eq, "=")?;
        let value = self.parse_literal(LiteralKind::VALUE)?;
        Ok(StatementKind::Set { name, value })
    }
}
