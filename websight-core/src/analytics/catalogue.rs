//! The product catalogue, learned from the events (and optionally given up front).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::{Money, ProductItem};
use crate::model::Catalogue;

/// What is known of a product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductInfo {
    /// Name.
    pub name: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// The latest unit price seen.
    pub price: Option<Money>,
}

/// Products by key ([`ProductItem::key`]: id, else SKU, else name): names and categories
/// as first seen, prices as last seen. Bounded: past `capacity` products, new ones are not
/// learned (their events still carry their own fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductCatalogue {
    products: BTreeMap<String, ProductInfo>,
    capacity: usize,
}

impl Default for ProductCatalogue {
    fn default() -> Self {
        ProductCatalogue::new(100_000)
    }
}

impl ProductCatalogue {
    /// An empty catalogue for at most `capacity` products.
    pub fn new(capacity: usize) -> ProductCatalogue {
        ProductCatalogue {
            products: BTreeMap::new(),
            capacity,
        }
    }

    /// A catalogue given up front (keys are the products' ids as text).
    pub fn from_catalogue(catalogue: &Catalogue) -> ProductCatalogue {
        let mut out = ProductCatalogue::default();
        for p in catalogue.products() {
            out.products.insert(
                p.id.to_string(),
                ProductInfo {
                    name: Some(p.name.clone()),
                    category: Some(p.category.to_string()),
                    price: p.price.to_string().parse().ok(),
                },
            );
        }
        out
    }

    /// Learns what `item` says about its product.
    pub fn learn(&mut self, item: &ProductItem) {
        let Some(key) = item.key() else { return };
        // The key is copied only for a new product.
        if !self.products.contains_key(key) {
            if self.products.len() >= self.capacity {
                return;
            }
            self.products.insert(key.to_owned(), ProductInfo::default());
        }
        let Some(info) = self.products.get_mut(key) else {
            return;
        };
        if info.name.is_none() {
            info.name = item.name.as_deref().map(str::to_owned);
        }
        if info.category.is_none() {
            info.category = item.category.as_deref().map(str::to_owned);
        }
        if item.price.is_some() {
            info.price = item.price;
        }
    }

    /// What is known of the product with this key.
    pub fn get(&self, key: &str) -> Option<&ProductInfo> {
        self.products.get(key)
    }

    /// The product's name, else its key.
    pub fn name<'a>(&'a self, key: &'a str) -> &'a str {
        self.get(key).and_then(|i| i.name.as_deref()).unwrap_or(key)
    }

    /// Products known.
    pub fn len(&self) -> usize {
        self.products.len()
    }

    /// Whether none is known.
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// Every product, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ProductInfo)> {
        self.products.iter().map(|(k, v)| (k.as_str(), v))
    }
}
