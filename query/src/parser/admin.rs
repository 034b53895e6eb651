//! Statements about data, models, jobs and settings: TRAIN, SHOW, DESCRIBE, DROP, CANCEL, WAIT, SET.

use super::literal::LiteralKind;
use super::{Parser, Result};
use crate::ast::{DescribeTarget, Literal, Show, ShowObject, Side, SortOrder, StatementKind};
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

    /// `SHOW object [WHERE filter] [ORDER BY INTERACTIONS [ASC|DESC]] [LIMIT n] [OFFSET n]`, after
    /// `SHOW`; `WHERE` and `ORDER BY` only after `USERS` and `ITEMS`.
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
        for (at, (keyword, candidate)) in OBJECTS.into_iter().enumerate() {
            // INTERACTIONS is tried (and offered in errors) after USERS and ITEMS.
            if at == 2 && self.next_if_keyword(Keyword::Interactions)? {
                object = Some(ShowObject::Interactions(self.parse_opt_entity()?));
                break;
            }
            if self.next_if_keyword(keyword)? {
                object = Some(candidate);
                break;
            }
        }
        let Some(object) = object else {
            return Err(self.unexpected(&[]));
        };
        let entities = matches!(object, ShowObject::Users | ShowObject::Items);
        let filter = if entities { self.parse_where()? } else { None };
        let order = if entities { self.parse_opt_order()? } else { None };
        let limit = self.parse_opt_literal(Keyword::Limit, LiteralKind::COUNT)?;
        let offset = self.parse_opt_literal(Keyword::Offset, LiteralKind::COUNT)?;
        Ok(StatementKind::Show(Show { object, filter, order, limit, offset }))
    }

    /// An optional `USER key` or `ITEM key`.
    fn parse_opt_entity(&mut self) -> Result<Option<(Side, Literal)>> {
        let side = if self.next_if_keyword(Keyword::User)? {
            Side::User
        } else if self.next_if_keyword(Keyword::Item)? {
            Side::Item
        } else {
            return Ok(None);
        };
        Ok(Some((side, self.parse_literal(LiteralKind::KEY)?)))
    }

    /// An optional `ORDER BY INTERACTIONS [ASC|DESC]`.
    fn parse_opt_order(&mut self) -> Result<Option<SortOrder>> {
        if !self.next_if_keyword(Keyword::Order)? {
            return Ok(None);
        }
        self.expect_keyword(Keyword::By)?;
        self.expect_keyword(Keyword::Interactions)?;
        if self.next_if_keyword(Keyword::Desc)? {
            return Ok(Some(SortOrder::Descending));
        }
        self.next_if_keyword(Keyword::Asc)?;
        Ok(Some(SortOrder::Ascending))
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
