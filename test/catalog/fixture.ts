/**
 * A fixture catalog of a few hundred tags, Chinese and English, generated deterministically: ~55
 * hand-written tags of a retail user profile plus metric × window × channel combinations and
 * preference tags. `loadFixture` builds it in a catalog through the public API (categories, a load
 * registration, attribute edits, moves), so the fixture also exercises those paths.
 */
import type { TagType } from "../../engine/expr/ast.js";
import type { Grade, ProductionType, TagCatalog, UpdateFrequency } from "../../engine/catalog/index.js";

export interface FixtureTag {
  name: string;
  type: TagType;
  displayName: string;
  description: string;
  /** Category path from the root. */
  category: readonly string[];
  grade: Grade;
  productionType: ProductionType;
  updateFrequency: UpdateFrequency;
  coverage: number;
}

/** mulberry32: small, seeded, good enough for fixtures. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const C = {
  demo: ["基础属性 Demographics", "人口统计"],
  geo: ["基础属性 Demographics", "地理位置"],
  trade: ["行为 Behavior", "交易 Transactions"],
  visit: ["行为 Behavior", "访问 Engagement"],
  pref: ["偏好 Preferences"],
  risk: ["风险 Risk"],
  mkt: ["营销 Marketing"],
  value: ["价值 Value"],
} as const;

type Base = [name: string, type: TagType, displayName: string, description: string, category: readonly string[]];

const BASE: readonly Base[] = [
  ["age", "int", "年龄", "User age in years / 用户年龄（周岁）", C.demo],
  ["gender", "enum", "性别", "Gender as declared at signup / 注册时填写的性别", C.demo],
  ["birthday", "time", "生日", "Date of birth / 出生日期", C.demo],
  ["marital_status", "enum", "婚姻状况", "Marital status / 婚姻状况", C.demo],
  ["has_children", "bool", "有孩子", "Has at least one child / 家中有孩子", C.demo],
  ["income_level", "enum", "收入水平", "Estimated income band / 估算的收入区间", C.demo],
  ["occupation", "enum", "职业", "Occupation category / 职业类别", C.demo],
  ["education", "enum", "学历", "Highest education level / 最高学历", C.demo],
  ["is_student", "bool", "学生", "Verified student / 已认证学生身份", C.demo],
  ["language", "enum", "语言偏好", "Preferred UI language / 界面语言偏好", C.demo],
  ["city", "enum", "城市", "City of residence / 常住城市", C.geo],
  ["province", "enum", "省份", "Province of residence / 常住省份", C.geo],
  ["city_tier", "enum", "城市等级", "Tier of the residence city (1–5) / 常住城市等级", C.geo],
  ["work_city", "enum", "工作城市", "City of the workplace / 工作所在城市", C.geo],
  ["home_district", "enum", "居住区县", "District of residence / 居住区县", C.geo],
  ["commute_distance_km", "float", "通勤距离", "Home to work distance in km / 通勤距离（公里）", C.geo],
  ["timezone", "enum", "时区", "Time zone of the device / 设备时区", C.geo],
  ["signup_date", "time", "注册日期", "Account creation date / 账号注册日期", C.visit],
  ["last_login_at", "time", "最近登录时间", "Time of the last login / 最近一次登录时间", C.visit],
  ["last_order_at", "time", "最近下单时间", "Time of the last order / 最近一次下单时间", C.trade],
  ["first_order_at", "time", "首单时间", "Time of the first order / 首次下单时间", C.trade],
  ["avg_order_value", "float", "客单价", "Average order value / 平均每单金额", C.trade],
  ["return_rate", "float", "退货率", "Share of orders returned / 退货订单占比", C.trade],
  ["favorite_category", "enum", "最常购买品类", "Most purchased product category / 购买最多的品类", C.trade],
  ["preferred_payment", "enum", "偏好支付方式", "Most used payment method / 最常用的支付方式", C.trade],
  ["weekend_shopper", "bool", "周末购物者", "Buys mostly on weekends / 主要在周末购物", C.trade],
  ["night_owl", "bool", "夜猫子用户", "Active mostly after midnight / 深夜活跃用户", C.visit],
  ["device_os", "enum", "设备操作系统", "Operating system of the main device / 主力设备操作系统", C.visit],
  ["app_version", "enum", "APP版本", "Installed app version / 安装的APP版本", C.visit],
  ["push_enabled", "bool", "推送开启", "Push notifications enabled / 已开启推送通知", C.mkt],
  ["email_opt_in", "bool", "邮件订阅", "Accepts marketing email / 同意接收营销邮件", C.mkt],
  ["sms_opt_in", "bool", "短信订阅", "Accepts marketing SMS / 同意接收营销短信", C.mkt],
  ["wechat_follower", "bool", "公众号粉丝", "Follows the WeChat official account / 关注了微信公众号", C.mkt],
  ["acq_channel", "enum", "获客渠道", "Channel of acquisition / 用户来源渠道", C.mkt],
  ["coupon_sensitive", "bool", "优惠券敏感", "Buys mostly with coupons / 主要使用优惠券购买", C.mkt],
  ["price_sensitivity", "float", "价格敏感度", "Price sensitivity score 0–1 / 价格敏感度评分", C.mkt],
  ["referral_count", "int", "邀请人数", "Friends invited who signed up / 成功邀请的好友数", C.mkt],
  ["churned", "bool", "流失用户", "No order and no login for 180 days / 180天未下单且未登录", C.risk],
  ["churn_risk_score", "float", "流失风险分", "Model score of churn risk / 流失风险模型评分", C.risk],
  ["fraud_risk", "bool", "欺诈风险", "Flagged by the anti-fraud system / 被反欺诈系统标记", C.risk],
  ["credit_score", "int", "信用分", "Internal credit score / 内部信用评分", C.risk],
  ["complaint_count", "int", "投诉次数", "Complaints filed / 投诉次数", C.risk],
  ["high_value", "bool", "高价值用户", "Top 10% by lifetime value / 生命周期价值前10%", C.value],
  ["lifetime_value", "float", "生命周期价值", "Total spend since signup / 注册以来累计消费", C.value],
  ["rfm_segment", "enum", "RFM分层", "Recency-frequency-monetary segment / RFM模型分层", C.value],
  ["member_level", "enum", "会员等级", "Loyalty programme level / 会员等级", C.value],
  ["vip", "bool", "付费会员", "Paid membership active / 付费会员有效", C.value],
  ["loyalty_points", "int", "积分余额", "Loyalty points balance / 当前积分余额", C.value],
  ["points_expiring_30d", "int", "30天内过期积分", "Points expiring within 30 days / 30天内将过期的积分", C.value],
  ["nps_score", "int", "推荐值NPS", "Net promoter score answer / NPS调研得分", C.value],
  ["review_count", "int", "评价次数", "Product reviews written / 发表的商品评价数", C.visit],
  ["interests", "multi", "兴趣偏好", "Interest topics from browsing / 根据浏览推断的兴趣", C.pref],
  ["preferred_brands", "multi", "偏好品牌", "Brands bought most / 最常购买的品牌", C.pref],
  ["sports_fan", "bool", "运动爱好者", "Buys sports goods regularly / 经常购买运动用品", C.pref],
  ["pet_owner", "bool", "养宠人士", "Buys pet food or supplies / 购买宠物食品或用品", C.pref],
];

const METRICS: readonly [string, TagType, string, string][] = [
  ["orders", "int", "订单数", "Orders placed"],
  ["spend", "float", "消费金额", "Amount spent"],
  ["visits", "int", "访问次数", "Sessions"],
  ["refunds", "int", "退款次数", "Refunds requested"],
  ["coupons_used", "int", "用券次数", "Coupons redeemed"],
  ["cart_adds", "int", "加购次数", "Items added to cart"],
  ["page_views", "int", "浏览量", "Pages viewed"],
  ["wishlist_adds", "int", "收藏次数", "Items added to the wishlist"],
  ["searches", "int", "搜索次数", "Searches made"],
];
const WINDOWS = ["7d", "30d", "90d", "180d"] as const;
const CHANNELS: readonly [string, string, string][] = [
  ["", "", ""],
  ["app", "APP", "in the app"],
  ["web", "网站", "on the web site"],
  ["mini", "小程序", "in the mini program"],
  ["store", "门店", "in physical stores"],
];
const PREFS: readonly [string, string][] = [
  ["apparel", "服饰"], ["beauty", "美妆"], ["digital", "数码"], ["food", "食品"], ["home", "家居"],
  ["maternity", "母婴"], ["books", "图书"], ["travel", "旅行"], ["outdoor", "户外"], ["luxury", "奢侈品"],
  ["jewelry", "珠宝"], ["toys", "玩具"], ["pets", "宠物"], ["health", "保健"], ["wine", "酒水"],
];

export function fixtureTags(seed = 7): FixtureTag[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const grades: Grade[] = ["L1", "L2", "L3", "L4"];
  const cover = () => Math.floor(rand() * 1_000_000);
  const out: FixtureTag[] = [];
  for (const [name, type, displayName, description, category] of BASE) {
    out.push({
      name, type, displayName, description, category,
      grade: pick(grades),
      productionType: category === C.risk ? "model" : pick(["import", "rule", "sql"] as ProductionType[]),
      updateFrequency: pick(["daily", "weekly", "realtime"] as UpdateFrequency[]),
      coverage: cover(),
    });
  }
  for (const [metric, type, zh, en] of METRICS) {
    for (const w of WINDOWS) {
      const days = w.slice(0, -1);
      for (const [ch, chZh, chEn] of CHANNELS) {
        out.push({
          name: `${metric}_${w}${ch ? `_${ch}` : ""}`,
          type,
          displayName: `近${days}天${chZh}${zh}`,
          description: `${en}${chEn ? ` ${chEn}` : ""} in the last ${days} days / 近${days}天${chZh}${zh}`,
          category: ["visits", "page_views", "cart_adds", "wishlist_adds", "searches"].includes(metric) ? C.visit : C.trade,
          grade: pick(grades),
          productionType: "sql",
          updateFrequency: "daily",
          coverage: cover(),
        });
      }
    }
  }
  for (const [en, zh] of PREFS) {
    out.push({
      name: `pref_${en}`, type: "float", displayName: `${zh}偏好度`,
      description: `Affinity for ${en} products, 0–1 / 对${zh}类商品的偏好程度`,
      category: C.pref, grade: "L2", productionType: "model", updateFrequency: "weekly", coverage: cover(),
    });
  }
  return out;
}

/** Builds the fixture in `cat` (open mode: tags are published on registration). Returns category ids by path. */
export function loadFixture(cat: TagCatalog, tags: readonly FixtureTag[] = fixtureTags()): Map<string, number> {
  const ids = new Map<string, number>();
  for (const t of tags) {
    let parent: number | null = null;
    for (let i = 0; i < t.category.length; i++) {
      const key = t.category.slice(0, i + 1).join("/");
      let id = ids.get(key);
      if (id === undefined) {
        id = cat.createCategory({ name: t.category[i]!, parentId: parent }, null).id;
        ids.set(key, id);
      }
      parent = id;
    }
  }
  cat.registerLoadedTags("user", tags.map((t) => ({ name: t.name, type: t.type })), "fixture load");
  for (const t of tags) {
    cat.updateTag(
      "user",
      t.name,
      {
        displayName: t.displayName,
        description: t.description,
        categoryId: ids.get(t.category.join("/"))!,
        grade: t.grade,
        productionType: t.productionType,
        updateFrequency: t.updateFrequency,
      },
      { actor: null },
    );
  }
  return ids;
}
