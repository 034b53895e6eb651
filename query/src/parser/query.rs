//! Statements that ask the models: RECOMMEND, SIMILAR, EXPLAIN, EVALUATE.

use super::literal::LiteralKind;
use super::{Parser, Result};
use crate::ast::{
    EvaluateTask, Filter, Query, Recommend, RecommendTags, Rerank, Similar, Source, StatementKind,
};
use crate::keyword::Keyword;

impl Parser<'_> {
    /// `RECOMMEND USER key TOP n [USING name] [RERANK m USING name] [WHERE filter] [INCLUDE SEEN]
    /// [WITH (...)]`, after `RECOMMEND`.
    pub(crate) fn parse_recommend(&mut self) -> Result<Recommend> {
        self.expect_keyword(Keyword::User)?;
        let user = self.parse_literal(LiteralKind::KEY)?;
        self.expect_keyword(Keyword::Top)?;
        let top = self.parse_literal(LiteralKind::COUNT)?;
        let using = self.parse_opt_name(Keyword::Using)?;
        let rerank = self.parse_rerank()?;
        let filter = self.parse_where()?;
        let include_seen = self.next_if_keyword(Keyword::Include)?;
        if include_seen {
            self.expect_keyword(Keyword::Seen)?;
        }
        let options = self.parse_with_options()?;
        Ok(Recommend { user, top, using, rerank, filter, include_seen, options })
    }

    /// `RECOMMEND USER ...` (see [`Parser::parse_recommend`]) or `RECOMMEND TAGS FOR USER|ITEM key TOP n
    /// [USING name] [WITH (...)]`, after `RECOMMEND`.
    pub(crate) fn parse_recommend_statement(&mut self) -> Result<StatementKind> {
        if !self.next_if_keyword(Keyword::Tags)? {
            return Ok(StatementKind::Recommend(self.parse_recommend()?));
        }
        self.expect_keyword(Keyword::For)?;
        let side = self.parse_side()?;
        let key = self.parse_literal(LiteralKind::KEY)?;
        self.expect_keyword(Keyword::Top)?;
        let top = self.parse_literal(LiteralKind::COUNT)?;
        let using = self.parse_opt_name(Keyword::Using)?;
        let options = self.parse_with_options()?;
        Ok(StatementKind::RecommendTags(RecommendTags { side, key, top, using, options }))
    }

    /// `SIMILAR ITEM|USER key TOP n [USING name] [WHERE filter] [WITH (...)]`, after `SIMILAR`.
    pub(crate) fn parse_similar(&mut self) -> Result<Similar> {
        let side = self.parse_side()?;
        let key = self.parse_literal(LiteralKind::KEY)?;
        self.expect_keyword(Keyword::Top)?;
        let top = self.parse_literal(LiteralKind::COUNT)?;
        let using = self.parse_opt_name(Keyword::Using)?;
        let filter = self.parse_where()?;
        let options = self.parse_with_options()?;
        Ok(Similar { side, key, top, using, filter, options })
    }

    /// An optional `RERANK m USING name`.
    fn parse_rerank(&mut self) -> Result<Option<Rerank>> {
        if !self.next_if_keyword(Keyword::Rerank)? {
            return Ok(None);
        }
        let candidates = self.parse_literal(LiteralKind::COUNT)?;
        self.expect_keyword(Keyword::Using)?;
        Ok(Some(Rerank { candidates, model: self.parse_name()? }))
    }

    /// An optional `WHERE filter`.
    pub(crate) fn parse_where(&mut self) -> Result<Option<Filter>> {
        if self.next_if_keyword(Keyword::Where)? {
            self.parse_filter().map(Some)
        } else {
            Ok(None)
        }
    }

    /// `EXPLAIN RECOMMEND ...` or `EXPLAIN SIMILAR ...`, after `EXPLAIN`.
    pub(crate) fn parse_explain(&mut self) -> Result<StatementKind> {
        let query = if self.next_if_keyword(Keyword::Recommend)? {
            Query::Recommend(self.parse_recommend()?)
        } else if self.next_if_keyword(Keyword::Similar)? {
            Query::Similar(self.parse_similar()?)
        } else {
            return Err(self.unexpected(&[]));
        };
        Ok(StatementKind::Explain(query))
    }

    /// `EVALUATE name [RERANK m USING name] [COLD {ITEMS | USERS} FROM 'path' | TAGS] [AGAINST 'path' [FORMAT name]]
    /// [AT k1, k2, ...] [WITH (...)]`, after `EVALUATE`.
    pub(crate) fn parse_evaluate(&mut self) -> Result<StatementKind> {
        let models = self.parse_comma_list(Self::parse_name)?;
        let rerank = self.parse_rerank()?;
        let task = if self.next_if_keyword(Keyword::Cold)? {
            let users = !self.next_if_keyword(Keyword::Items)?;
            if users {
                self.expect_keyword(Keyword::Users)?;
            }
            self.expect_keyword(Keyword::From)?;
            let path = self.parse_literal(LiteralKind::STRING)?;
            Some(if users { EvaluateTask::ColdUsers(path) } else { EvaluateTask::ColdItems(path) })
        } else if self.next_if_keyword(Keyword::Tags)? {
            Some(EvaluateTask::Tags)
        } else {
            None
        };
        let against = if self.next_if_keyword(Keyword::Against)? {
            let path = self.parse_literal(LiteralKind::STRING)?;
            Some(Source { path, format: self.parse_opt_name(Keyword::Format)? })
        } else {
            None
        };
        let cutoffs = if self.next_if_keyword(Keyword::At)? {
            self.parse_comma_list(|parser| parser.parse_literal(LiteralKind::COUNT))?
        } else {
            Vec::new()
        };
        let options = self.parse_with_options()?;
        Ok(StatementKind::Evaluate { models, rerank, task, against, cutoffs, options })
    }
}
