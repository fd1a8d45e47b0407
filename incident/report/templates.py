"""Default texts (plain Chinese) for reports and notices; `$name` fields are filled in."""

from __future__ import annotations

# Notice to one customer (PIPL Art. 57, GB/T 35273 §10.2): what happened and what of
# theirs was involved, what we did and will do, what they can do, remedies, contacts.
CUSTOMER_NOTICE = """\
尊敬的${name}：

${org}在此告知您一起个人信息安全事件。

一、发生了什么
${when}，我们发现有账号超出授权范围读取了部分客户信息。经核查，涉及您的信息包括：${kinds}。

二、我们已经采取的措施
${measures}

三、我们接下来会做什么
我们正在进一步调查原因，加强访问控制与监测，并将依法向主管部门报告。

四、您可以怎么做
${advice}

五、我们为您提供的帮助
${remedies}

六、联系我们
如有疑问，请拨打${hotline}，或发送邮件至${email}（个人信息保护负责人）。

${org}
${date}
"""

CUSTOMER_SMS = ("【${org}】尊敬的${name}：我们发现您的部分信息（${kinds}）可能被未授权读取，"
                "已采取措施控制。请提高警惕，谨防冒充客服的电话和短信。详询${hotline}。")

NOTICE_SUBJECT = "${org}关于个人信息安全事件的告知"

ADVICE = ("请警惕以我公司名义索要验证码、密码或要求转账的电话、短信和邮件；"
          "我们不会通过任何渠道向您索要密码或验证码。如涉及银行卡信息，建议联系发卡银行关注账户变动。")
ADVICE_SENSITIVE = ("由于涉及身份证件或银行卡等敏感信息，"
                    "建议您开启账户交易提醒，必要时挂失或更换银行卡。")
REMEDIES = "我们为受影响客户开通专线咨询，并承担因本事件产生的合理核查费用。"
HARM = ("相关信息可能被用于电信诈骗、骚扰营销或冒用身份，给个人带来财产损失或其他不利影响；"
        "目前未发现信息被进一步传播或利用。")
CAUSE = ("初步判断：账号 ${principal} 在用途“${purpose}”下读取了超出必要范围的客户信息，"
         "由隐私网关告警（${rules}）发现；具体原因仍在调查中。")
PLANNED = ["完成原因调查并修补访问控制缺陷", "复核相关账号与用途授权", "向受影响个人发送告知",
           "提交补充报告与总结报告"]

# To the security team and internal stakeholders: counts and a link, never personal data.
STAFF_MESSAGE = """\
[${grade}] ${id} ${title}
状态 ${status}，严重程度 ${severity}
受影响客户 ${subjects} 名（明文 ${subjects_clear} 名），记录 ${records} 条，敏感信息：${sensitive}
${deadlines}
详情：${link}
"""
