//! Statements that change data: ADD, INSERT, DELETE, IMPORT, SPLIT, and EXPORT (which writes files).

use super::literal::LiteralKind;
use super::{Parser, Result};
use crate::ast::{ImportTarget, Side, StatementKind};
use crate::keyword::Keyword;

impl Parser<'_> {
    /// `ADD USER|ITEM key [LABEL 'text'] [TAGS ('t1', ...)]`, after `ADD`.
    pub(crate) fn parse_add(&mut self) -> Result<StatementKind> {
        let side = self.parse_side()?;
        let key = self.parse_literal(LiteralKind::KEY)?;
        let label = self.parse_opt_literal(Keyword::Label, LiteralKind::STRING)?;
        let tags = if self.next_if_keyword(Keyword::Tags)? {
            self.parse_literal_list(LiteralKind::STRING)?
        } else {
            Vec::new()
        };
        Ok(StatementKind::Add { side, key, label, tags })
    }

    /// `INSERT INTERACTION USER key ITEM key [WEIGHT number] [AT integer]`, after `INSERT`.
    pub(crate) fn parse_insert(&mut self) -> Result<StatementKind> {
        self.expect_keyword(Keyword::Interaction)?;
        let (user, item) = self.parse_user_item()?;
        let weight = self.parse_opt_literal(Keyword::Weight, LiteralKind::NUMBER)?;
        let time = self.parse_opt_literal(Keyword::At, LiteralKind::INTEGER)?;
        Ok(StatementKind::InsertInteraction { user, item, weight, time })
    }

    /// `DELETE INTERACTION USER key ITEM key` or `DELETE USER|ITEM key`, after `DELETE`.
    pub(crate) fn parse_delete(&mut self) -> Result<StatementKind> {
        if self.next_if_keyword(Keyword::Interaction)? {
            let (user, item) = self.parse_user_item()?;
            return Ok(StatementKind::DeleteInteraction { user, item });
        }
        let side = self.parse_side()?;
        let key = self.parse_literal(LiteralKind::KEY)?;
        Ok(StatementKind::Delete { side, key })
    }

    /// `USER key ITEM key`.
    fn parse_user_item(&mut self) -> Result<(crate::ast::Literal, crate::ast::Literal)> {
        self.expect_keyword(Keyword::User)?;
        let user = self.parse_literal(LiteralKind::KEY)?;
        self.expect_keyword(Keyword::Item)?;
        let item = self.parse_literal(LiteralKind::KEY)?;
        Ok((user, item))
    }

    /// `IMPORT INTERACTIONS|USERS|ITEMS FROM 'path' [FORMAT name] [WITH (...)]`, after `IMPORT`.
    pub(crate) fn parse_import(&mut self) -> Result<StatementKind> {
        let target = if self.next_if_keyword(Keyword::Interactions)? {
            ImportTarget::Interactions
        } else if self.next_if_keyword(Keyword::Users)? {
            ImportTarget::Users
        } else if self.next_if_keyword(Keyword::Items)? {
            ImportTarget::Items
        } else {
            return Err(self.unexpected(&[]));
        };
        self.expect_keyword(Keyword::From)?;
        let path = self.parse_literal(LiteralKind::STRING)?;
        let format = self.parse_opt_name(Keyword::Format)?;
        let options = self.parse_with_options()?;
        Ok(StatementKind::Import { target, path, format, options })
    }

    /// `SPLIT HOLDOUT fraction [SEED integer]` or `SPLIT CLEAR`, after `SPLIT`.
    pub(crate) fn parse_split(&mut self) -> Result<StatementKind> {
        if self.next_if_keyword(Keyword::Clear)? {
            return Ok(StatementKind::SplitClear);
        }
        self.expect_keyword(Keyword::Holdout)?;
        let fraction = self.parse_literal(LiteralKind::FRACTION)?;
        let seed = self.parse_opt_literal(Keyword::Seed, LiteralKind::COUNT)?;
        Ok(StatementKind::SplitHoldout { fraction, seed })
    }

    /// `EXPORT CODES name USERS|ITEMS TO 'path'` or `EXPORT RECOMMENDATIONS name TOP n TO 'path'`, after
    /// `EXPORT`.
    pub(crate) fn parse_export(&mut self) -> Result<StatementKind> {
        if self.next_if_keyword(Keyword::Codes)? {
            let model = self.parse_name()?;
            let side = if self.next_if_keyword(Keyword::Users)? {
                Side::User
            } else if self.next_if_keyword(Keyword::Items)? {
                Side::Item
            } else {
                return Err(self.unexpected(&[]));
            };
            self.expect_keyword(Keyword::To)?;
            let path = self.parse_literal(LiteralKind::STRING)?;
            return Ok(StatementKind::ExportCodes { model, side, path });
        }
        self.expect_keyword(Keyword::Recommendations)?;
        let model = self.parse_name()?;
        self.expect_keyword(Keyword::Top)?;
        let top = self.parse_literal(LiteralKind::COUNT)?;
        self.expect_keyword(Keyword::To)?;
        let path = self.parse_literal(LiteralKind::STRING)?;
        Ok(StatementKind::ExportRecommendations { model, top, path })
    }
}
