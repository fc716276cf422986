//! Catalogue products, categories and the sets of products viewed together.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CoreError, Result};

/// A product's id (the original used 1-based integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProductId(pub u32);

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A product category. The furniture shop's four are named; any other catalogue's categories
/// are kept verbatim in [`Category::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Category {
    /// "living room"
    LivingRoom,
    /// "bedroom"
    Bedroom,
    /// "office"
    Office,
    /// "dining room"
    DiningRoom,
    /// Any other category name, verbatim.
    Other(String),
}

impl Category {
    /// The category's name as written in records.
    pub fn as_str(&self) -> &str {
        match self {
            Category::LivingRoom => "living room",
            Category::Bedroom => "bedroom",
            Category::Office => "office",
            Category::DiningRoom => "dining room",
            Category::Other(name) => name,
        }
    }
}

impl From<String> for Category {
    fn from(name: String) -> Self {
        match name.as_str() {
            "living room" => Category::LivingRoom,
            "bedroom" => Category::Bedroom,
            "office" => Category::Office,
            "dining room" => Category::DiningRoom,
            _ => Category::Other(name),
        }
    }
}

impl From<Category> for String {
    fn from(category: Category) -> Self {
        match category {
            Category::Other(name) => name,
            named => named.as_str().to_owned(),
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A product in the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// Unique id.
    pub id: ProductId,
    /// Display name, also used as the page name (`exitPage` in the original record).
    pub name: String,
    /// Unit price in the shop's currency.
    pub price: f64,
    /// Category.
    pub category: Category,
}

/// A validated catalogue: unique ids, positive prices, and co-viewed sets that name only
/// catalogue products.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CatalogueParts", into = "CatalogueParts")]
pub struct Catalogue {
    products: Vec<Product>,
    co_viewed: Vec<Vec<ProductId>>,
}

/// The serde form of [`Catalogue`]; validated on the way in.
#[derive(Serialize, Deserialize)]
struct CatalogueParts {
    products: Vec<Product>,
    co_viewed: Vec<Vec<ProductId>>,
}

impl TryFrom<CatalogueParts> for Catalogue {
    type Error = CoreError;
    fn try_from(parts: CatalogueParts) -> Result<Self> {
        Catalogue::new(parts.products, parts.co_viewed)
    }
}

impl From<Catalogue> for CatalogueParts {
    fn from(c: Catalogue) -> Self {
        CatalogueParts {
            products: c.products,
            co_viewed: c.co_viewed,
        }
    }
}

impl Catalogue {
    /// Builds a catalogue, refusing duplicate ids, empty or non-finite/non-positive prices,
    /// empty co-viewed sets and co-viewed ids that are not products.
    pub fn new(products: Vec<Product>, co_viewed: Vec<Vec<ProductId>>) -> Result<Self> {
        if products.is_empty() {
            return Err(CoreError::parameter("products", "the catalogue is empty"));
        }
        let mut ids: Vec<ProductId> = products.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(CoreError::parameter(
                "products",
                format!("product id {} appears twice", w[0]),
            ));
        }
        if let Some(p) = products
            .iter()
            .find(|p| !(p.price.is_finite() && p.price > 0.0))
        {
            return Err(CoreError::parameter(
                "price",
                format!("product {} has price {}", p.id, p.price),
            ));
        }
        for set in &co_viewed {
            if set.is_empty() {
                return Err(CoreError::parameter(
                    "co_viewed",
                    "a co-viewed set is empty",
                ));
            }
            if let Some(id) = set.iter().find(|id| ids.binary_search(id).is_err()) {
                return Err(CoreError::UnknownProduct(id.0));
            }
        }
        Ok(Catalogue {
            products,
            co_viewed,
        })
    }

    /// The original system's 10-product furniture shop and its four co-viewed sets.
    pub fn furniture() -> Self {
        let items: [(&str, f64, Category); 10] = [
            ("sofa", 5000.0, Category::LivingRoom),
            ("coffee table", 500.0, Category::LivingRoom),
            ("accent chair", 750.0, Category::LivingRoom),
            ("bed", 4500.0, Category::Bedroom),
            ("bedside table", 590.0, Category::Bedroom),
            ("dresser", 1290.0, Category::Bedroom),
            ("office desk", 1150.0, Category::Office),
            ("office chair", 899.0, Category::Office),
            ("dining table", 2500.0, Category::DiningRoom),
            ("dining chairs", 650.0, Category::DiningRoom),
        ];
        let products = items
            .into_iter()
            .zip(1..)
            .map(|((name, price, category), id)| Product {
                id: ProductId(id),
                name: name.to_owned(),
                price,
                category,
            })
            .collect();
        let co_viewed = [&[9, 10][..], &[1, 2, 3], &[4, 5, 6], &[7, 8]]
            .iter()
            .map(|set| set.iter().map(|&id| ProductId(id)).collect())
            .collect();
        Catalogue::new(products, co_viewed).expect("the built-in catalogue is valid")
    }

    /// All products, in catalogue order.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// The sets of products usually viewed together.
    pub fn co_viewed(&self) -> &[Vec<ProductId>] {
        &self.co_viewed
    }

    /// Looks a product up by id.
    pub fn get(&self, id: ProductId) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// Looks a product up by id, with a typed error when it is missing.
    pub fn product(&self, id: ProductId) -> Result<&Product> {
        self.get(id).ok_or(CoreError::UnknownProduct(id.0))
    }

    /// The distinct categories, in first-seen catalogue order.
    pub fn categories(&self) -> Vec<Category> {
        let mut seen: Vec<Category> = Vec::new();
        for p in &self.products {
            if !seen.contains(&p.category) {
                seen.push(p.category.clone());
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn furniture_matches_the_original_shop() {
        let c = Catalogue::furniture();
        assert_eq!(c.products().len(), 10);
        assert_eq!(c.product(ProductId(1)).unwrap().name, "sofa");
        assert_eq!(c.product(ProductId(8)).unwrap().price, 899.0);
        assert_eq!(c.categories().len(), 4);
        assert!(matches!(
            c.product(ProductId(11)),
            Err(CoreError::UnknownProduct(11))
        ));
    }

    #[test]
    fn invalid_catalogues_are_refused() {
        let p = |id, price| Product {
            id: ProductId(id),
            name: format!("p{id}"),
            price,
            category: Category::Office,
        };
        assert!(Catalogue::new(vec![p(1, 1.0), p(1, 2.0)], vec![]).is_err());
        assert!(Catalogue::new(vec![p(1, f64::NAN)], vec![]).is_err());
        assert!(Catalogue::new(vec![p(1, 1.0)], vec![vec![ProductId(2)]]).is_err());
        assert!(Catalogue::new(vec![], vec![]).is_err());
        let bad =
            r#"{"products":[{"id":1,"name":"x","price":-1.0,"category":"office"}],"co_viewed":[]}"#;
        assert!(serde_json::from_str::<Catalogue>(bad).is_err());
    }

    #[test]
    fn unknown_categories_are_kept_verbatim() {
        let c: Category = serde_json::from_str("\"garden\"").unwrap();
        assert_eq!(c, Category::Other("garden".into()));
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"garden\"");
        let c: Category = serde_json::from_str("\"dining room\"").unwrap();
        assert_eq!(c, Category::DiningRoom);
    }
}
